# CIFAR-10 classification from a RepFusion-distilled ResNet-18 (the paper's fine-tuning: the
# same 200-epoch SGD schedule as the scratch baseline mmpretrain::resnet/resnet18_8xb16_cifar10
# with batch 128). Compare with that baseline trained with the identical schedule.
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/repfusion-hint-policy_ddpm-cifar10-32_resnet18-cifar_1xb128-200e_'
    'cifar10-32x32/epoch_200.pth',
    prefix='student.')))
train_dataloader = dict(batch_size=128)
