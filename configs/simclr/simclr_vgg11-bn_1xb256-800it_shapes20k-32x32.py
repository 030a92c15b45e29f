# Label-free Shapes encoder for a label-free REPA teacher: mmpretrain's SimCLR (Chen et al.
# 2020) with the classification baseline's VGG-11-BN backbone, trained on the teacher's 20k
# unlabelled images (the dataset is read with `with_label=False`: no label file is opened).
# Views: random resized crops (>= 35 % of the image, so the main shape mostly survives), both
# flips, strong colour jitter and grayscale (a shape's colour is drawn at random, so colour is
# a nuisance the encoder should be invariant to); no blur at 32 px.
# Generate the images first (see configs/ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_...py), then
#   python tools/train.py configs/simclr/simclr_vgg11-bn_1xb256-800it_shapes20k-32x32.py \
#       --work-dir work_dirs/simclr_shapes32
# and probe the frozen backbone: tools/analysis/encoder_probe.py.
_base_ = ['mmpretrain::_base_/default_runtime.py']

model = dict(
    type='SimCLR',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
    backbone=dict(
        type='VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
        norm_cfg=dict(type='BN'), with_last_pool=False),
    neck=dict(
        type='NonLinearNeck', in_channels=512, hid_channels=512, out_channels=128,
        num_layers=2, with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))

view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.35, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.4)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset', data_root='data/shapes32-train20k', data_prefix='images/train',
        with_label=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
                  dict(type='PackInputs')]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.3, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=50, end=800),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=800)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200, max_keep_ckpts=-1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
