# DDPM on CIFAR-10 for GPU users: the google/ddpm-cifar10-32 architecture trained as in Ho et
# al. 2020 (batch 128, Adam 2e-4 with 5k warm-up, grad clip 1, 800k steps, EMA 0.9999, linear
# betas, epsilon prediction, random horizontal flips). Export the EMA weights with
# tools/model_converters/ddpm_to_diffusers.py and use them as a DiffusionUNet / RepFusion
# teacher. 8 GPUs: tools/dist_train.sh CONFIG 8 with batch_size=16 per GPU.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    '../_base_/models/unet_ddpm-cifar10-32.py',
]
model = dict(
    type='mmdiffrep.DDPM',
    unet_cfg={{_base_.unet_cfg}},
    num_train_timesteps=1000,
    beta_schedule='linear',
    prediction_type='epsilon',
    loss_weighting='none',
    # mmpretrain's CIFAR10 dataset loads RGB arrays: no channel flip; images to [-1, 1]
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False))
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=[
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
    optimizer=dict(type='Adam', lr=2e-4), clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=800000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20000, max_keep_ckpts=3))
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=20000, num_samples=64, steps=100),
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
