# Few-label classification on Shapes (the 10% labelled subset, 200 images), student trained
# from scratch: the reference row of the RepFusion table. The -repfusion config is identical
# except that the backbone starts from a distilled student.
_base_ = ['../baselines/cls_resnet18-cifar_1xb64-30e_shapes-32x32.py']
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(ann_file='annotations/cls_train_10pct.txt'))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=300, eta_min=1e-5),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=300, val_interval=300)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300, max_keep_ckpts=1,
                    save_best=None))
log_processor = dict(by_epoch=False)
