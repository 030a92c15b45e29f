# mmpose top-down heatmaps on a frozen DiffusionUNet: the stride-2 block up.1.pre already has
# the heatmap resolution (16 x 16 for 32 x 32 crops), so mmpose's HeatmapHead needs no deconv.
_base_ = [
    'mmpose::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_kpt.py',
    '../_base_/models/unet_shapes32.py',
]
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        # the shipped Shapes DDPM (configs/ddpm); pretrained=None probes a random U-Net of
        # the same architecture (unet_cfg)
        pretrained='checkpoints/ddpm-shapes32',
        subfolder='unet',
        unet_cfg={{_base_.unet_cfg}},
        blocks=['up.1.pre'],
        timesteps=[10],
        noise='fixed',
        data_mean={{_base_.data_preprocessor.mean}},
        data_std={{_base_.data_preprocessor.std}}),
    head=dict(
        type='HeatmapHead',
        in_channels=64,
        out_channels=5,
        deconv_out_channels=None,
        conv_out_channels=(64, ),
        conv_kernel_sizes=(3, ),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder={{_base_.codec}}),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=20, eta_min=1e-5)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(save_best='coco/AP', rule='greater', interval=5, max_keep_ckpts=1))
randomness = dict(seed=0)
