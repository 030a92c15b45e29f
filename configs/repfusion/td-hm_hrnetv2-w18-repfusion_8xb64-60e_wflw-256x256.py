# WFLW landmarks (NME) from a RepFusion-distilled HRNetV2-W18: mmpose's own config, with the
# backbone initialised from the distillation checkpoint (prefix 'student.').
_base_ = ['mmpose::face_2d_keypoint/topdown_heatmap/wflw/td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py']
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True,
    type='Pretrained',
    checkpoint='work_dirs/repfusion-dense_ddpm-celebahq-256_hrnetv2-w18_8xb64-60e_wflw-256x256/'
    'epoch_60.pth',
    prefix='student.')))
