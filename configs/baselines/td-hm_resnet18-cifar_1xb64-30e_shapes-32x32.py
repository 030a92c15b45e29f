# Top-down heatmap keypoint baseline (mmpose) on Shapes 32 px: CIFAR-style ResNet-18 from
# mmpretrain + mmpose's HeatmapHead (SimpleBaseline), trained from scratch, GT boxes.
_base_ = [
    'mmpose::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_kpt.py',
]

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=32, base_channels=32),
    head=dict(
        type='HeatmapHead',
        in_channels=256,
        out_channels=5,
        deconv_out_channels=(128, 128),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder={{_base_.codec}}),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.1, by_epoch=False),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=30, eta_min=1e-5),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(save_best='coco/AP', rule='greater', interval=5, max_keep_ckpts=2))
randomness = dict(seed=0)
