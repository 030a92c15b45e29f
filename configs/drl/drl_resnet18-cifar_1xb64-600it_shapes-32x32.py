# DRL on Shapes 32 px (runs on a 2-core CPU in about 3 minutes): a CIFAR-style ResNet-18
# encoder (width 16, so the code z = GAP(last stage) has 128 dims like the paper's WRN-28-2)
# codes the clean image; a small diffusers U-Net (165k parameters) denoises x_t conditioned
# on z (through its timestep embedding and at the bottleneck). VE SDE sigma 0.01 -> 50 and t ~ U[1e-5, 1] as the paper; L1 on z, 1e-5.
# No labels are used. Evaluate the code with
#   python tools/analysis/probe_codes.py CONFIG work_dirs/.../iter_600.pth
# and hand the encoder to a downstream config with
#   init_cfg=dict(type='Pretrained', checkpoint=<checkpoint>, prefix='encoder.')
# or export it: tools/model_converters/export_backbone.py CKPT OUT.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
]
model = dict(
    type='mmdiffrep.DRL',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True),  # -> [-1, 1]
    encoder=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16),
    unet_cfg=dict(
        type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=4,
        down_block_types=('DownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'UpBlock2D')),
    sde=dict(type='ve', sigma_min=0.01, sigma_max=50.0),
    t_sampling=dict(type='uniform_t', t_min=1e-5, t_max=1.0),
    loss_weighting='none',
    conditioning=('embedding', 'bottleneck'),
    regularizer='l1', reg_weight=1e-5)

# images only: the classifier's training pipeline, labels unused
train_dataloader = dict(batch_size=64, sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=600, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=600, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
