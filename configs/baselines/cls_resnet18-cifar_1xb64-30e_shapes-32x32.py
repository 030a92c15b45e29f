# Supervised classification baseline (mmpretrain) on Shapes 32 px: CIFAR-style ResNet-18
# trained from scratch + linear head. Reference numbers: configs/baselines/README.md.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=32, base_channels=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# AdamW: 36% val top-1 after 30 epochs vs 30% for SGD(0.1) and 23% for SGD(0.02) (seed 0);
# with ~1k iterations from scratch the optimiser matters more than on full CIFAR schedules.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=30, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2, save_best='auto'))
randomness = dict(seed=0)
