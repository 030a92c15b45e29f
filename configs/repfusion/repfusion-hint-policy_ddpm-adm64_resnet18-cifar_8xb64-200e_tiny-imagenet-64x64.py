# RepFusion's Tiny-ImageNet setup, for GPU users: a 64 px DDPM teacher (train and export it with
# configs/ddpm/ddpm_unet-adm64_8xb32-300k_tiny-imagenet-64x64.py: the paper's guided-diffusion
# checkpoint is not available in diffusers) -> ResNet-18 with a stride-1 stem (mmpretrain
# ResNet_CIFAR: 64 px inputs give 8 x 8 final maps, the teacher's mid block size). Hint loss on
# the teacher's mid block, learned timestep policy over t = 0..999 (200 classes), SGD 0.1,
# 200 epochs, batch 64 per GPU x 8, bf16 autocast as the public config's fp16.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/tiny-imagenet_64.py',
]
model = dict(
    type='mmdiffrep.RepFusion',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', num_classes=200, mean=[122.46, 114.26, 101.37],
        std=[70.49, 68.56, 71.80], to_rgb=True),
    teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='checkpoints/ddpm-tiny-imagenet64',
                 subfolder='unet'),
    student=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
    distill_pairs=[
        dict(name='mid', student_index=-1, teacher_block='mid',
             loss=dict(type='mmdiffrep.HintLoss', loss_weight=1.0)),
    ],
    timestep_sampler=dict(
        type='mmdiffrep.LearnedTimestepPolicy', num_classes=200, net='cnn', reward_hidden=256,
        entropy_coef=0.1),
    teacher_input='clean')
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
# two optimizers (student: SGD with steps under bf16 AMP; policy: Adam 1e-3), one DDP per part
optim_wrapper = dict(
    constructor='mmdiffrep.PartsOptimWrapperConstructor',
    student=dict(type='AmpOptimWrapper', dtype='bfloat16',
                 optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)),
    policy=dict(optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(
    student=[dict(type='MultiStepLR', by_epoch=True, milestones=[100, 150], gamma=0.1)],
    policy=[])
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
train_cfg = dict(by_epoch=True, max_epochs=200)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=2))
custom_hooks = [
    dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL'),
    dict(type='mmdiffrep.EntropyDecayHook', end=100, by_epoch=True),
    dict(type='mmdiffrep.TimestepPolicyVisHook', interval=5, by_epoch=True),
]
