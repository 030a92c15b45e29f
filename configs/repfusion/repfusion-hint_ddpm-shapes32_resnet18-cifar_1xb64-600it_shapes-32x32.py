# RepFusion distillation on Shapes 32 px (runs on a 2-core CPU): the shipped Shapes DDPM
# (checkpoints/ddpm-shapes32, frozen) teaches the CIFAR-style ResNet-18 of the baselines.
# Pair: the student's last stage (256 ch, stride 8) <- 1x1 conv -> the teacher's mid block
# (64 ch, stride 4), hint loss (pooled MSE) + dense L2 on the up.0 pre-upsample map. The
# teacher reads the clean image with the embedding of t = 0 (the public code's default).
# No labels are used (FixedTimesteps); see the -policy config for the learned timestep.
# Hand the student to a downstream config with
#   init_cfg=dict(type='Pretrained', checkpoint=<this run's checkpoint>, prefix='student.')
# or export it: tools/model_converters/export_backbone.py CKPT OUT.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/shapes32_cls.py',
]
teacher_path = 'checkpoints/ddpm-shapes32'
model = dict(
    type='mmdiffrep.RepFusion',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True),
    teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_path, subfolder='unet'),
    student=dict(
        type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=32, base_channels=32,
        out_indices=(2, 3)),
    distill_pairs=[
        dict(name='mid', student_index=1, teacher_block='mid',
             loss=dict(type='mmdiffrep.HintLoss', loss_weight=1.0)),
        dict(name='up0', student_index=0, teacher_block='up.0.pre',
             loss=dict(type='mmdiffrep.DenseFeatureLoss', mode='l2', loss_weight=1.0)),
    ],
    timestep_sampler=dict(type='mmdiffrep.FixedTimesteps', timesteps=0),
    teacher_input='clean')

# images only: the same pipeline as the classifier's training, labels unused
train_dataloader = dict(batch_size=64, sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=600, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
