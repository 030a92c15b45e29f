# Few-label CIFAR-10 classification from a DRL encoder (for GPU users): the paper's 4000-label
# split size; the encoder is fine-tuned end to end on the labelled subset only (the paper's
# LaplaceNet pseudo-labelling is not part of this config). `indices=4000` takes the first
# 4000 training images (CIFAR-10's order is shuffled, so about 400 per class); set
# `indices` to 100 / 500 / 1000 / 2000 for the other rows of the paper's table and
# `init_cfg=None` (or drop the line) for the scratch reference with the same schedule.
# The DRL run keeps EMA weights (EMAHook); to start from them, export the encoder with
#   python tools/model_converters/export_backbone.py CKPT OUT.pth --ema
# and set model.backbone.init_cfg.checkpoint=OUT.pth, model.backbone.init_cfg.prefix=None.
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/drl_resnet18-cifar_1xb64-250k_cifar10-32x32/iter_250000.pth',
    prefix='encoder.')))
train_dataloader = dict(batch_size=64, dataset=dict(indices=4000))
# 4000 images are 63 iterations per epoch: 400 epochs ~ 25k iterations
train_cfg = dict(max_epochs=400, val_interval=20)
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[200, 300], gamma=0.1)
