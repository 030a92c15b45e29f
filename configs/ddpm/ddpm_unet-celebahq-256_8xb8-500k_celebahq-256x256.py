# DDPM on CelebA-HQ 256 px for GPU users: the google/ddpm-ema-celebahq-256 architecture (Ho et
# al. 2020: batch 64, Adam 2e-5, 500k steps, EMA 0.9999). Images: any folder of face images
# (data/celebahq256/images/*.jpg, no labels) read by mmpretrain's CustomDataset. Use it for
# a RepFusion CelebAMask-HQ / WFLW teacher. Run: tools/dist_train.sh CONFIG 8.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/unet_ddpm-celebahq-256.py',
]
model = dict(
    type='mmdiffrep.DDPM',
    unet_cfg={{_base_.unet_cfg}},
    num_train_timesteps=1000,
    beta_schedule='linear',
    prediction_type='epsilon',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset',
        data_root='data/celebahq256',
        data_prefix='images',
        with_label=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(256, 256)),
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
    type='AmpOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='Adam', lr=2e-5), clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=500000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3))
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=10000, num_samples=16, steps=100),
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
