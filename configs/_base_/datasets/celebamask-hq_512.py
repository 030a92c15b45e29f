# CelebAMask-HQ face parsing for mmseg: 19 classes (background + 18 parts), 512 px, made by
#   python tools/dataset_converters/celebamask_hq.py /path/to/CelebAMask-HQ data/celebamask_hq
# (seeded train / val / test split in splits/). Training crops 448 px as RepFusion's configs.
dataset_type = 'BaseSegDataset'
data_root = 'data/celebamask_hq'
classes = ('background', 'skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
           'l_ear', 'r_ear', 'mouth', 'u_lip', 'l_lip', 'hair', 'hat', 'ear_r', 'neck_l', 'neck',
           'cloth')
crop_size = (448, 448)
metainfo = dict(classes=classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    # no horizontal flip: it would swap left / right parts
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
celebamask = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.jpg',
                seg_map_suffix='.png', data_prefix=dict(img_path='images', seg_map_path='masks'))
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(celebamask, ann_file='splits/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(celebamask, ann_file='splits/val.txt', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(celebamask, ann_file='splits/test.txt', pipeline=test_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
