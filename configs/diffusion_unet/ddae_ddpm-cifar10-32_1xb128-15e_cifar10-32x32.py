# DDAE-style linear probe (Xiang et al., ICCV 2023) for GPU users: the DDPM U-Net of
# google/ddpm-cifar10-32 (same topology as DDAE's 35.7M U-Net), frozen, one noisy forward at a
# small timestep (t=11 of 1000) with fresh noise each call, features of DDAE's `out_6`
# (= diffusers up_blocks[1].resnets[2], 256 x 8 x 8), global average pooling, linear head
# trained with Adam 1e-3 for 15 epochs. DDAE reports 90.05% (DDPM) on CIFAR-10.
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
data_preprocessor = dict(
    num_classes=10,
    # the preprocessor's normalisation; DiffusionUNet undoes it from the same numbers
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        pretrained='google/ddpm-cifar10-32',
        blocks=['up.1.resnets.2'],
        timesteps=[11],
        noise='random',
        data_mean=data_preprocessor['mean'],
        data_std=data_preprocessor['std']),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), type='AmpOptimWrapper')
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=15)]
train_cfg = dict(by_epoch=True, max_epochs=15, val_interval=1)
val_cfg = dict()
test_cfg = dict()
