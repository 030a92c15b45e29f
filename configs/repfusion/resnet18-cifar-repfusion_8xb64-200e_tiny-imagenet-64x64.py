# Tiny-ImageNet classification from the RepFusion-distilled ResNet-18 (stride-1 stem); the
# scratch baseline is this config without init_cfg (same 200-epoch SGD schedule).
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/tiny-imagenet_64.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR', depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/repfusion-hint-policy_ddpm-adm64_resnet18-cifar_8xb64-200e_'
            'tiny-imagenet-64x64/epoch_200.pth',
            prefix='student.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=200, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[100, 150], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
