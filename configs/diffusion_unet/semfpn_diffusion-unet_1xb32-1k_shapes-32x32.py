# mmseg Semantic FPN on a frozen DiffusionUNet: three up-path blocks at strides 1/2/4 feed
# mmseg's FPN neck and FPNHead.
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_seg.py',
    '../_base_/models/unet_shapes32.py',
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        # the shipped Shapes DDPM (configs/ddpm); pretrained=None probes a random U-Net of
        # the same architecture (unet_cfg)
        pretrained='checkpoints/ddpm-shapes32',
        subfolder='unet',
        unet_cfg={{_base_.unet_cfg}},
        blocks=['up.2', 'up.1.pre', 'up.0.pre'],
        timesteps=[10],
        noise='fixed',
        data_mean={{_base_.data_preprocessor.mean}},
        data_std={{_base_.data_preprocessor.std}}),
    neck=dict(type='FPN', in_channels=[32, 64, 64], out_channels=64, num_outs=3),
    decode_head=dict(
        type='FPNHead',
        in_channels=[64, 64, 64],
        in_index=[0, 1, 2],
        feature_strides=[1, 2, 4],
        channels=64,
        dropout_ratio=0.1,
        num_classes=7,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=1000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
