# Few-label keypoints (10% labelled subset): heatmap head on the frozen shipped Shapes DDPM.
_base_ = ['./td-hm_diffusion-unet_1xb64-20e_shapes-32x32.py']
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(ann_file='annotations/kpt_train_10pct.json'))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=40, start_factor=0.1, by_epoch=False),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=40, end=800, eta_min=1e-5)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=800, val_interval=800)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=800, max_keep_ckpts=1,
                    save_best=None))
log_processor = dict(by_epoch=False)
