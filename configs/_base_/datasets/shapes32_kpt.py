# Shapes (32 px) top-down keypoints for mmpose: COCO keypoint JSON read by mmpose's own
# CocoDataset; one instance (the main shape) per image with 5 landmarks. Generate the data with
#   python tools/dataset_converters/shapes.py data/shapes32 --size 32
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/shapes32/'
# 'annotations/kpt_train_10pct.json' / '_1pct' for few-label runs
train_ann_file = 'annotations/kpt_train.json'

# the dataset meta of mmpose (what configs/_base_/datasets/coco.py is for COCO)
shapes_metainfo = dict(
    dataset_name='shapes',
    paper_info=dict(author='mmdiffrep', title='Shapes: a procedural dataset', year='2026'),
    keypoint_info={
        0: dict(name='center', id=0, color=[255, 255, 255], type='', swap=''),
        1: dict(name='top', id=1, color=[255, 0, 0], type='upper', swap=''),
        2: dict(name='right', id=2, color=[0, 255, 0], type='', swap='left'),
        3: dict(name='bottom', id=3, color=[0, 0, 255], type='lower', swap=''),
        4: dict(name='left', id=4, color=[255, 255, 0], type='', swap='right'),
    },
    skeleton_info={
        0: dict(link=('center', 'top'), id=0, color=[255, 0, 0]),
        1: dict(link=('center', 'right'), id=1, color=[0, 255, 0]),
        2: dict(link=('center', 'bottom'), id=2, color=[0, 0, 255]),
        3: dict(link=('center', 'left'), id=3, color=[255, 255, 0]),
        4: dict(link=('top', 'right'), id=4, color=[128, 128, 128]),
        5: dict(link=('right', 'bottom'), id=5, color=[128, 128, 128]),
        6: dict(link=('bottom', 'left'), id=6, color=[128, 128, 128]),
        7: dict(link=('left', 'top'), id=7, color=[128, 128, 128]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0],
    # OKS falloff per keypoint (COCO uses 0.025-0.107); landmarks here are sharp corners
    sigmas=[0.05, 0.05, 0.05, 0.05, 0.05])

codec = dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(16, 16), sigma=1)

data_preprocessor = dict(
    type='PoseDataPreprocessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=shapes_metainfo,
        ann_file=train_ann_file,
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=shapes_metainfo,
        ann_file='annotations/kpt_val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=shapes_metainfo,
        ann_file='annotations/kpt_test.json',
        data_prefix=dict(img='images/test/'),
        test_mode=True,
        pipeline=val_pipeline))
val_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + 'annotations/kpt_val.json'),
    dict(type='PCKAccuracy', thr=0.1),
]
test_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + 'annotations/kpt_test.json'),
    dict(type='PCKAccuracy', thr=0.1),
]
