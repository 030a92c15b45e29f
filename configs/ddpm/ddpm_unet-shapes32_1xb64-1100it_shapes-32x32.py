# DDPM on Shapes 32 px (CPU-sized): the Shapes U-Net of configs/_base_/models/unet_shapes32.py,
# epsilon prediction, linear betas, 1000 steps; EMA weights via mmengine's EMAHook; a PNG grid
# of DDIM samples every 500 iterations in {work_dir}/samples/.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
    '../_base_/models/unet_shapes32.py',
]
model = dict(
    type='mmdiffrep.DDPM',
    unet_cfg={{_base_.unet_cfg}},
    num_train_timesteps=1000,
    beta_schedule='linear',
    prediction_type='epsilon',
    loss_weighting='none',
    # images to [-1, 1]
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
train_dataloader = dict(
    batch_size=64,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.0), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=100, end=1100),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1100)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=550, max_keep_ckpts=1))
custom_hooks = [
    # momentum 0.01 averages over ~100 iterations: at ~1k iterations a slower EMA (0.002)
    # still carried the near-random early weights (its samples at iter 500 were pure noise)
    dict(type='EMAHook', momentum=0.01, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=550, num_samples=36, steps=50),
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
