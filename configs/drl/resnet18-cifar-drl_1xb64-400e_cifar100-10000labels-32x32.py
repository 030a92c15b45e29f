# Few-label CIFAR-100 classification from a DRL encoder (for GPU users): 10000 labels (the
# paper's third CIFAR-100 column), fine-tuned end to end on the labelled subset.
# The DRL run keeps EMA weights (EMAHook); to start from them, export the encoder with
#   python tools/model_converters/export_backbone.py CKPT OUT.pth --ema
# and set model.backbone.init_cfg.checkpoint=OUT.pth, model.backbone.init_cfg.prefix=None.
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/drl_resnet18-cifar_1xb64-250k_cifar100-32x32/iter_250000.pth',
        prefix='encoder.')),
    head=dict(num_classes=100))
data_preprocessor = dict(num_classes=100, mean=[129.304, 124.070, 112.434],
                         std=[68.170, 65.392, 70.418])
train_dataloader = dict(
    batch_size=64, dataset=dict(type='CIFAR100', data_root='data/cifar100', indices=10000))
val_dataloader = dict(dataset=dict(type='CIFAR100', data_root='data/cifar100'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=400, val_interval=20)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[200, 300], gamma=0.1)
