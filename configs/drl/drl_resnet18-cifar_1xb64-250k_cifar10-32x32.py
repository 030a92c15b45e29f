# DRL on CIFAR-10 (for GPU users; not run here): the paper's training setup as in the public
# code of its first author (traj_drl): VE SDE sigma 0.01 -> 50, t ~ U[1e-5, 1], eps-MSE (score
# weighting lambda = sigma^2), L1 on z with 1e-5, Adam 2e-4 with 5000 warm-up steps, gradient
# clipping 1, EMA 0.999, batch 64, 250k iterations, random flips, no labels.
# Deviations: the encoder is mmpretrain's CIFAR ResNet-18 (code = GAP, 512-d) instead of a
# WRN-28-2 (128-d); the score network is a diffusers UNet2DModel with the layout of
# NCSN++ "small" (nf 16, ch_mult 1-2-2-2, 2 res blocks, attention at 16x16, dropout 0.1)
# but DDPM-style ResBlocks (no BigGAN up/down, no Fourier features).
# Then fine-tune with few labels: resnet18-cifar-drl_1xb64-400e_cifar10-4000labels-32x32.py
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    type='mmdiffrep.DRL',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5], to_rgb=False),  # CIFAR loads RGB; -> [-1, 1]
    encoder=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
    unet_cfg=dict(
        type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
        block_out_channels=(16, 32, 32, 32), layers_per_block=2, norm_num_groups=8,
        dropout=0.1,
        down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D')),
    sde=dict(type='ve', sigma_min=0.01, sigma_max=50.0),
    t_sampling=dict(type='uniform_t', t_min=1e-5, t_max=1.0),
    loss_weighting='none',
    conditioning=('embedding', 'bottleneck'),
    regularizer='l1', reg_weight=1e-5)

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True,
    dataset=dict(pipeline=train_pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
                        end=5000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=250000)
custom_hooks = [dict(type='EMAHook', momentum=0.001, update_buffers=True, priority=49)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000,
                    max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
