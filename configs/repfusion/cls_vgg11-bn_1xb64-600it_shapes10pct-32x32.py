# Few-label classification on Shapes, VGG-11-BN student trained from scratch: the reference
# row of the RepFusion table. tools/run_repfusion.py puts it into each regime of the
# label-efficiency protocol (1 % / 10 % / all labels: labelled list, iterations, val-selected
# checkpoint, see mmdiffrep/utils/experiments.py); as written it is the 10 % regime. The
# -repfusion config is identical except that the backbone starts from a distilled student.
_base_ = ['../baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py']
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(ann_file='annotations/cls_train_10pct.txt'))
# warm-up then cosine decay (index 1 is the one the protocol stretches to its iterations)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=60),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=60, end=600, eta_min=1e-5),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=600, val_interval=120)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=120, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
log_processor = dict(by_epoch=False)
