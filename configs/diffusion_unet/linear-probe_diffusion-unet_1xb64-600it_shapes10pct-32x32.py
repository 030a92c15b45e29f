# Few-label linear probe (10% labelled subset) on the frozen shipped Shapes DDPM: the
# "frozen DiffusionUNet" row of the RepFusion table (same schedule as its fine-tuning rows).
_base_ = ['./linear-probe_diffusion-unet_1xb64-10e_shapes-32x32.py']
# the (block, timestep) the val-split probe sweep selected for the shipped teacher
# (checkpoints/ddpm-shapes32/mmdiffrep_meta.json; tools/analysis/teacher_curve.py)
model = dict(backbone=dict(blocks=['up.0.pre'], timesteps=[300]))
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(ann_file='annotations/cls_train_10pct.txt'))
# the iterations and LR shape of the fine-tuning rows (tools/run_repfusion.py stretches
# index 1 to each regime of the protocol); only the head trains
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=60),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=60, end=600, eta_min=1e-5)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=600, val_interval=120)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=120, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
log_processor = dict(by_epoch=False)
