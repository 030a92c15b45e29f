# Few-label segmentation (10% labelled subset): Semantic FPN on the frozen shipped Shapes DDPM.
_base_ = ['./semfpn_diffusion-unet_1xb32-1k_shapes-32x32.py']
train_dataloader = dict(dataset=dict(ann_file='annotations/seg_train_10pct.txt'))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=1000, by_epoch=False),
]
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(
    checkpoint=dict(interval=1000, max_keep_ckpts=1), visualization=dict(draw=False))
