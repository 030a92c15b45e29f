# Shapes (32 px) classification for mmpretrain: the toolbox's own CustomDataset over
# images/{split}/ with `file label` annotation lists. Generate the data with
#   python tools/dataset_converters/shapes.py data/shapes32 --size 32
dataset_type = 'CustomDataset'
data_root = 'data/shapes32'
classes = ('circle', 'triangle', 'square', 'pentagon', 'star', 'cross')
# labelled training list; 'annotations/cls_train_10pct.txt' / '_1pct' for few-label runs
train_ann_file = 'annotations/cls_train.txt'

data_preprocessor = dict(
    num_classes=6,
    # maps uint8 RGB to [-1, 1]
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=train_ann_file,
        data_prefix='images/train',
        metainfo=dict(classes=classes),
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cls_val.txt',
        data_prefix='images/val',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cls_test.txt',
        data_prefix='images/test',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
