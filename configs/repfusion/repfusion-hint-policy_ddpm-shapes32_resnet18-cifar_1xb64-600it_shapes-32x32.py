# RepFusion with the paper's learned timestep policy: an image-conditioned CNN picks t per
# image among 0, 10, ..., 990; reward = -CE of a task head on the teacher's mid feature at
# that t (uses the labels of the distillation images); entropy bonus 0.1 decayed linearly to 0
# by iteration 400; the timestep heatmap goes to {work_dir}/timestep_policy.png.
_base_ = ['./repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    timestep_sampler=dict(
        _delete_=True,
        type='mmdiffrep.LearnedTimestepPolicy',
        num_classes=6,
        candidates=list(range(0, 1000, 10)),
        net='cnn',
        entropy_coef=0.1),
    reward_pair=0)
# two optimizers: the student's (as the base config) and the policy's own Adam (constant LR);
# under DDP each part gets its own wrapper
optim_wrapper = dict(
    _delete_=True,
    constructor='mmdiffrep.PartsOptimWrapperConstructor',
    student=dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05)),
    policy=dict(optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(
    _delete_=True,
    student=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=600, eta_min=1e-5),
    ],
    policy=[])
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
custom_hooks = [
    dict(type='mmdiffrep.EntropyDecayHook', end=400, by_epoch=False),
    dict(type='mmdiffrep.TimestepPolicyVisHook', interval=50, by_epoch=False),
]
