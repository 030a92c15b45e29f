# DDPM-Seg-style segmentation (Baranchuk et al., ICLR 2022) for GPU users: a frozen 256 px
# pixel-space DDPM (google/ddpm-bedroom-256, the ADM layout in diffusers), features of the
# paper's decoder blocks 5, 6, 7, 8, 12 (= diffusers up.1, up.2.resnets.0, up.2.resnets.1,
# up.2, up.4.resnets.0) at t = 50, 150, 250 with fixed, seeded noise, all in one batched
# forward; DDPM-Seg's upsample-and-concatenate descriptor (UpsampleConcatNeck) and a 1x1
# per-pixel classifier. The paper's ADE-Bedroom-30 uses only bedroom scenes of ADE20K.
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (256, 256)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
blocks = ['up.1', 'up.2.resnets.0', 'up.2.resnets.1', 'up.2', 'up.4.resnets.0']
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        pretrained='google/ddpm-bedroom-256',
        blocks=blocks,
        timesteps=[50, 150, 250],
        noise='fixed',
        combine='concat',
        weights_dtype='float16',
        data_mean=[127.5, 127.5, 127.5],
        data_std=[127.5, 127.5, 127.5]),
    # channels of the five blocks x 3 timesteps (google/ddpm-bedroom-256)
    neck=dict(type='mmdiffrep.UpsampleConcatNeck', in_channels=[1536, 768, 768, 768, 384]),
    decode_head=dict(
        type='FCNHead',
        in_channels=4224,
        channels=256,
        num_convs=1,
        kernel_size=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(512, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3,
                                                       weight_decay=0.01))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000, val_interval=2000)
