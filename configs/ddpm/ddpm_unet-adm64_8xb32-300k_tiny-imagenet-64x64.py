# A 64 px DDPM teacher for RepFusion's Tiny-ImageNet setup, for GPU users. The paper used
# guided-diffusion's class-conditional ImageNet 64x64 checkpoint, which diffusers does not ship
# (and mmdiffrep has no converter for); this trains an ADM-style U-Net unconditionally on the
# Tiny-ImageNet training images instead (cosine betas, as improved DDPM). Export with
#   python tools/model_converters/ddpm_to_diffusers.py CONFIG work_dirs/.../iter_300000.pth \
#       checkpoints/ddpm-tiny-imagenet64
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/tiny-imagenet_64.py',
    '../_base_/models/unet_adm-64.py',
]
model = dict(
    type='mmdiffrep.DDPM',
    unet_cfg={{_base_.unet_cfg}},
    num_train_timesteps=1000,
    beta_schedule='cosine',
    prediction_type='epsilon',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
train_dataloader = dict(
    batch_size=32,
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
    type='AmpOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.0), clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3))
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=10000, num_samples=64, steps=100),
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
