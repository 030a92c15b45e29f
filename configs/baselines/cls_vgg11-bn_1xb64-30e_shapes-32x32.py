# Supervised classification baseline (mmpretrain) on Shapes 32 px: mmpretrain's VGG-11 with
# BatchNorm (its first four stages, 64-128-256-512 channels, three max-pools: stride 8) +
# global average pooling + linear head, trained from scratch with SGD (nesterov) and a
# one-cycle LR schedule. Why not the CIFAR ResNet-18 of the first baseline (37 % top-1):
# configs/baselines/README.md ("Root cause").
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
        norm_cfg=dict(type='BN'), with_last_pool=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# the shapes are drawn at random rotations, so vertical flips preserve the label as much as
# horizontal ones do (the base pipeline flips horizontally only)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))
# one cycle over the whole run (the max LR 0.05 is reached at 30 %)
param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.05, total_steps=30 * 32, by_epoch=False,
         pct_start=0.3)
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1, save_best='auto'))
randomness = dict(seed=0)
