# RepFusion as in the paper's CIFAR-10 setup, for GPU users: google/ddpm-cifar10-32 (frozen)
# teaches mmpretrain's CIFAR ResNet-18 through a hint loss (pooled MSE) between the student's
# last stage (512 ch) -> 1x1 conv and the teacher's mid block (256 x 4 x 4; the public code
# hooks mid_block.resnets.1.conv2, here the output of that ResNet block). Timesteps: the
# learned policy (image-conditioned CNN over t = 0..999, reward = -CE of a task head on the
# teacher feature, entropy 0.1 -> 0 at epoch 100). SGD 0.1 / 0.9 / 1e-4, steps at 100 and
# 150, 200 epochs, batch 128, EMA of the student (momentum 0.001) as the public configs.
# Then fine-tune: resnet18-cifar-repfusion_1xb128-200e_cifar10-32x32.py.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
]
model = dict(
    type='mmdiffrep.RepFusion',
    # mmpretrain's CIFAR10 loads RGB arrays (to_rgb=False); the teacher's range is restored
    # from this mean / std, whatever they are
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', num_classes=10,
        mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255], to_rgb=False),
    teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='google/ddpm-cifar10-32'),
    student=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
    distill_pairs=[
        dict(name='mid', student_index=-1, teacher_block='mid.resnets.1',
             loss=dict(type='mmdiffrep.HintLoss', loss_weight=1.0)),
    ],
    timestep_sampler=dict(
        type='mmdiffrep.LearnedTimestepPolicy', num_classes=10, net='cnn',
        reward_hidden=256, entropy_coef=0.1),
    teacher_input='clean')
train_dataloader = dict(batch_size=128, num_workers=4)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
# two optimizers (student: SGD with steps; policy: Adam 1e-3, constant), one DDP per part
optim_wrapper = dict(
    constructor='mmdiffrep.PartsOptimWrapperConstructor',
    student=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4,
                                nesterov=False)),
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
