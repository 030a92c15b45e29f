# mmpretrain linear probe on a frozen DiffusionUNet (DDAE recipe: small t, a mid-resolution
# up block, global average pooling, linear head) with the shipped Shapes DDPM.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
    '../_base_/models/unet_shapes32.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        # the shipped Shapes DDPM (configs/ddpm); pretrained=None probes a random U-Net of
        # the same architecture (unet_cfg)
        pretrained='checkpoints/ddpm-shapes32',
        subfolder='unet',
        unet_cfg={{_base_.unet_cfg}},
        blocks=['up.0.pre'],
        timesteps=[10],
        noise='fixed',
        out_type='featmap',
        # must equal the data preprocessor's mean / std (RGB, 0-255)
        data_mean={{_base_.data_preprocessor.mean}},
        data_std={{_base_.data_preprocessor.std}}),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=10)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1))
randomness = dict(seed=0)
