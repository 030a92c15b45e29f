"""Shapes: determinism, geometry independently re-computed, and loading through each
toolbox's own dataset classes and metrics."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from matplotlib.path import Path
from PIL import Image

from mmdiffrep.datasets.shapes import (CLASSES, KEYPOINT_NAMES, generate_shapes, render_sample,
                                       shape_polygon)


def _digest(root):
    h = {}
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            p = osp.join(dirpath, f)
            h[osp.relpath(p, root)] = hashlib.sha256(open(p, 'rb').read()).hexdigest()
    return h


def test_same_seed_same_bytes(tmp_path):
    kw = dict(size=32, num_train=20, num_val=5, num_test=5, labelled_fractions=(0.1, ))
    generate_shapes(str(tmp_path / 'a'), seed=3, **kw)
    generate_shapes(str(tmp_path / 'b'), seed=3, **kw)
    generate_shapes(str(tmp_path / 'c'), seed=4, **kw)
    a, b, c = (_digest(str(tmp_path / n)) for n in 'abc')
    assert a == b
    # images+masks, annotations (+ the subset's partial label list), meta, sheet
    assert len(a) == 20 * 2 + 5 * 4 + 4 * 3 + 1 + 2
    assert a['images/train/00000.png'] != c['images/train/00000.png']


def test_split_independent_of_other_sizes():
    # sample i of a split depends on (seed, split, i) only
    a = render_sample(0, 'val', 7, 32)
    b = render_sample(0, 'val', 7, 32)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, render_sample(0, 'test', 7, 32).image)


def _coverage(poly, size, sub=8):
    """Fraction of each pixel's area (pixel centres at integers) inside ``poly``, by
    supersampling: an independent way to rasterise the drawn geometry."""
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    yy, xx = np.mgrid[0:size, 0:size]
    pts = np.stack([(xx[..., None, None] + offs[None, :]).repeat(sub, -2),
                    (yy[..., None, None] + offs[:, None]).repeat(sub, -1)], -1)
    inside = Path(poly).contains_points(pts.reshape(-1, 2)).reshape(size, size, sub * sub)
    return inside.mean(-1)


@pytest.mark.parametrize('size', [32, 64])
def test_masks_and_keypoints_match_the_geometry(size):
    """Re-rasterise the drawn polygons by area coverage and compare with the label maps."""
    labels = set()
    for i in range(30):
        s = render_sample(1, 'train', i, size)
        labels.add(s.label)
        assert s.image.shape == (size, size, 3) and s.mask.shape == (size, size)
        # painter's order: later polygons on top; a pixel is "sure" when its coverage by the
        # top-most polygon touching it is below 0.25 or above 0.75
        expect = np.zeros((size, size), np.uint8)
        unsure = np.zeros((size, size), bool)
        for cat, poly in s.polygons:
            cov = _coverage(poly, size)
            expect[cov > 0.5] = cat + 1
            unsure[(cov > 0.25) & (cov < 0.75)] = True
            unsure[cov >= 0.75] = False
        assert np.array_equal(s.mask[~unsure], expect[~unsure])
        assert unsure.mean() < 0.25
        main = s.mask == s.label + 1
        # the label is the main shape's category and it is visible
        assert main.sum() > 0.04 * size * size
        # keypoints: centre and extreme vertices of the main polygon
        main_poly = s.polygons[0][1]
        kpts = s.keypoints
        for k, (x, y, v) in enumerate(kpts):
            if v == 0:
                assert x == 0 and y == 0
                continue
            assert 0 <= round(x) < size and 0 <= round(y) < size
            if v == 2:  # visible: on the main shape (a sharp tip is sub-pixel: 2 px)
                y0, x0 = int(round(y)), int(round(x))
                window = main[max(0, y0 - 2):y0 + 3, max(0, x0 - 2):x0 + 3]
                assert window.any(), (i, KEYPOINT_NAMES[k])
        named = dict(zip(KEYPOINT_NAMES, kpts))
        if named['top'][2] > 0:
            assert named['top'][1] == pytest.approx(main_poly[:, 1].min())
        if named['left'][2] > 0:
            assert named['left'][0] == pytest.approx(main_poly[:, 0].min())
        # bbox covers the main shape (amodal, i.e. with its occluded parts)
        x, y, w, h = s.bbox
        ys, xs = np.nonzero(_coverage(main_poly, size) > 0)
        assert xs.min() >= np.floor(x) - 1 and xs.max() <= np.ceil(x + w) + 1
        assert ys.min() >= np.floor(y) - 1 and ys.max() <= np.ceil(y + h) + 1
    assert len(labels) >= 5


def test_polygons_are_regular():
    # a square of circumradius r has side r * sqrt(2) whatever the rotation
    sq = shape_polygon(CLASSES.index('square'), (10, 10), 5, 0.3)
    sides = np.linalg.norm(np.roll(sq, -1, 0) - sq, axis=1)
    np.testing.assert_allclose(sides, 5 * np.sqrt(2))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='at least 16'):
        render_sample(0, 'train', 0, size=8)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        render_sample(0, 'dev', 0)
    with pytest.raises(ValueError, match='labelled fraction'):
        generate_shapes(str(tmp_path), num_train=4, num_val=1, num_test=1,
                        labelled_fractions=(1.5, ))


def test_layout_and_labelled_subsets(shapes_root):
    meta = json.load(open(osp.join(shapes_root, 'meta.json')))
    assert meta['splits'] == dict(train=96, val=32, test=32)
    sub = open(osp.join(shapes_root, 'annotations', 'cls_train_10pct.txt')).read().split('\n')
    sub = [line for line in sub if line]
    assert len(sub) == meta['labelled_subsets']['train_10pct']
    assert 6 <= len(sub) <= 16  # ~10% of 96, at least one per class
    full = set(open(osp.join(shapes_root, 'annotations', 'cls_train.txt')).read().split('\n'))
    assert set(sub) <= full
    assert osp.exists(osp.join(shapes_root, 'contact_sheet.png'))
    # the partial list: every training image, the subset's labels, -1 for the others
    partial = [line.split() for line in open(osp.join(
        shapes_root, 'annotations', 'cls_train_10pct_partial.txt')) if line.strip()]
    full_pairs = [line.split() for line in full if line]
    assert sorted(name for name, _ in partial) == sorted(name for name, _ in full_pairs)
    assert {f'{n} {y}' for n, y in partial if y != '-1'} == set(sub)
    assert sum(y == '-1' for _, y in partial) == len(full_pairs) - len(sub)


def _cfg(path, shapes_root, key='train_dataloader'):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    ds = cfg[key].dataset
    ds.data_root = shapes_root + '/'
    return cfg, ds


def test_mmpretrain_custom_dataset(repo_root, shapes_root):
    from mmpretrain.registry import DATASETS
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    _, ds_cfg = _cfg(osp.join(repo_root, 'configs/_base_/datasets/shapes32_cls.py'), shapes_root)
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 96 and ds.metainfo['classes'] == CLASSES
    item = ds[0]
    sample = render_sample(0, 'train', int(osp.basename(ds.get_data_info(0)['img_path'])[:5]))
    assert item['data_samples'].gt_label.item() == sample.label
    assert tuple(item['inputs'].shape) == (3, 32, 32)


def test_mmseg_dataset_and_metric(repo_root, shapes_root):
    import torch
    from mmseg.evaluation import IoUMetric
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    _, ds_cfg = _cfg(osp.join(repo_root, 'configs/_base_/datasets/shapes32_seg.py'),
                     shapes_root, 'val_dataloader')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 32
    info = ds.get_data_info(3)
    expect = render_sample(0, 'val', 3, 32).mask
    assert np.array_equal(np.asarray(Image.open(info['seg_map_path'])), expect)
    item = ds[3]
    gt = item['data_samples'].gt_sem_seg.data[0]
    assert torch.equal(gt, torch.from_numpy(expect).long())
    # the toolbox metric on perfect predictions
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        s = ds[i]['data_samples']
        metric.process([], [dict(pred_sem_seg=dict(data=s.gt_sem_seg.data),
                                 gt_sem_seg=dict(data=s.gt_sem_seg.data))])
    assert metric.compute_metrics(metric.results)['mIoU'] == pytest.approx(100.0)


def test_mmpose_coco_dataset_and_metric(repo_root, shapes_root, tmp_path):
    from mmpose.evaluation import CocoMetric
    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg, ds_cfg = _cfg(osp.join(repo_root, 'configs/_base_/datasets/shapes32_kpt.py'),
                       shapes_root, 'val_dataloader')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 32
    assert ds.metainfo['num_keypoints'] == 5
    assert list(ds.metainfo['flip_indices']) == [0, 1, 4, 3, 2]
    raw = ds.get_data_info(5)
    expect = render_sample(0, 'val', int(osp.basename(raw['img_path'])[:5]), 32)
    np.testing.assert_allclose(raw['keypoints'][0], expect.keypoints[:, :2], atol=1e-3)
    np.testing.assert_array_equal(raw['keypoints_visible'][0] > 0, expect.keypoints[:, 2] > 0)
    item = ds[5]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    # COCO AP of the ground truth as predictions is 1
    ann_file = osp.join(shapes_root, 'annotations', 'kpt_val.json')
    metric = CocoMetric(ann_file=ann_file, outfile_prefix=str(tmp_path / 'res'))
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        metric.process([], [dict(
            id=info['id'], img_id=info['img_id'], category_id=1, ori_shape=(32, 32),
            raw_ann_info=info['raw_ann_info'],
            gt_instances=dict(),
            pred_instances=dict(keypoints=info['keypoints'],
                                keypoint_scores=np.ones((1, 5), np.float32),
                                bbox_scores=np.ones(1)))])
    res = metric.compute_metrics(metric.results)
    assert res['AP'] == pytest.approx(1.0)


def test_background_texture_is_recorded_and_probed(shapes_root, repo_root):
    """Each sample records its background texture; probe_codes --target background reads it
    back for the files of a split list (seed and size from meta.json)."""
    import json
    import sys
    from mmdiffrep.datasets.shapes import BACKGROUNDS
    kinds = [render_sample(0, 'train', i).background for i in range(60)]
    assert set(kinds) == set(range(len(BACKGROUNDS)))  # all three occur
    sys.path.insert(0, osp.join(repo_root, 'tools', 'analysis'))
    import probe_codes
    labels = probe_codes.background_labels(shapes_root, 'annotations/cls_val.txt', 'val')
    files = [line.split()[0] for line in open(osp.join(shapes_root, 'annotations', 'cls_val.txt'))]
    meta = json.load(open(osp.join(shapes_root, 'meta.json')))
    assert labels.tolist() == [render_sample(meta['seed'], 'val', int(f.split('.')[0]),
                                             meta['size']).background for f in files]
