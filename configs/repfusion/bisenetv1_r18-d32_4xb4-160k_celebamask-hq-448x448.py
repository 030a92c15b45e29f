# Face parsing on CelebAMask-HQ (19 classes, seeded split) with mmseg's BiSeNetV1-R18, trained
# from scratch: the reference for the RepFusion-initialised config (the paper's setup: 448 px
# crops, SGD 0.005 poly, 160k iterations; the rest as mmseg's BiSeNetV1 configs). GPU users;
# data from tools/dataset_converters/celebamask_hq.py.
_base_ = [
    'mmseg::_base_/models/bisenetv1_r18-d32.py',
    '../_base_/datasets/celebamask-hq_512.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (448, 448)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=19),
    auxiliary_head=[
        dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=19,
             in_index=i, norm_cfg=norm_cfg, concat_input=False, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for i in (1, 2)
    ])
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
]
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.005, momentum=0.9,
                                        weight_decay=0.0005))
