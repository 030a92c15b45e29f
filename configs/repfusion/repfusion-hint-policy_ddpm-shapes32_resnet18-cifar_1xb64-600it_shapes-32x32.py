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
        entropy_coef=0.1,
        optimizer=dict(type='Adam', lr=1e-3)),
    reward_pair=0)
custom_hooks = [
    dict(type='mmdiffrep.EntropyDecayHook', end=400, by_epoch=False),
    dict(type='mmdiffrep.TimestepPolicyVisHook', interval=50, by_epoch=False),
]
