# WFLW landmarks with SimpleBaseline (mmpose HeatmapHead with deconvolutions) on ResNet-50 —
# the paper's second WFLW student; the same data, Adam 2e-3 / 60-epoch schedule and NME metric
# as mmpose's HRNetV2-W18 WFLW config. ImageNet init as mmpose's ResNet configs; the
# RepFusion variant replaces it with the distilled student.
_base_ = ['mmpose::face_2d_keypoint/topdown_heatmap/wflw/td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py']
model = dict(
    backbone=dict(
        _delete_=True, type='ResNet', depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=None,
    head=dict(
        _delete_=True, type='HeatmapHead', in_channels=2048, out_channels=98,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder={{_base_.codec}}))
