"""Regression tests for the stack fixes in mmdiffrep.compat (one module per fix, version guards)."""
import os
import pickle

import numpy as np
import pytest
import torch

import mmdiffrep  # noqa: F401  (applies the fixes)


def test_mmengine_message_hub_and_numpy_load_with_weights_only(tmp_path):
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('compat-test')
    for v in (1.0, 3.0, 2.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('iter', 7)
    ckpt = dict(message_hub=hub.state_dict(), meta=dict(
        epoch=np.int64(3), sigmas=np.array([0.05, 0.1], np.float32), seed=np.float64(0.5)))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, map_location='cpu')  # torch's default: weights_only=True
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(2.0) and buf.max() == 3.0 and buf.current() == 2.0
    assert loaded['message_hub']['runtime_info']['iter'] == 7
    np.testing.assert_array_equal(loaded['meta']['sigmas'], ckpt['meta']['sigmas'])
    assert loaded['meta']['epoch'] == 3


class _Gadget:
    """Pickles as getattr(HistoryBuffer, '__init__')(...): not one of the allowed look-ups."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


class _Shell:

    def __reduce__(self):
        return os.system, ('echo pwned',)


@pytest.mark.parametrize('payload,match', [(_Gadget(), 'refuses getattr'),
                                           (_Shell(), 'system')])
def test_other_globals_stay_refused(tmp_path, payload, match):
    path = tmp_path / 'evil.pth'
    torch.save({'x': payload}, path)
    with pytest.raises(pickle.UnpicklingError, match=match):
        torch.load(path, map_location='cpu')


def test_mmpose_visualizer_draws_under_numpy2(repo_root):
    """PoseLocalVisualizer (OpenCV backend) draws keypoints given as lists and boxes."""
    from mmengine.config import Config
    from mmengine.structures import InstanceData
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.structures import PoseDataSample
    from mmpose.visualization import PoseLocalVisualizer
    cfg = Config.fromfile(os.path.join(repo_root, 'configs/_base_/datasets/shapes32_kpt.py'))
    vis = PoseLocalVisualizer(name='compat-test', radius=2, line_width=1)
    vis.set_dataset_meta(parse_pose_metainfo(cfg.shapes_metainfo.to_dict()))
    pred = InstanceData()
    # a list (not an array): np.array(list, copy=False) raises under NumPy 2
    pred.keypoints = [[[3.0, 4.0], [10.0, 12.0], [20.0, 5.0], [25.0, 25.0], [5.0, 28.0]]]
    pred.keypoints_visible = np.ones((1, 5))
    gt = InstanceData()
    gt.keypoints = np.array(pred.keypoints)
    gt.keypoints_visible = np.ones((1, 5))
    gt.bboxes = np.array([[2.0, 2.0, 28.0, 29.0]])
    sample = PoseDataSample(pred_instances=pred, gt_instances=gt)
    image = np.zeros((32, 32, 3), np.uint8)
    out = vis.add_datasample('x', image, sample, draw_gt=True, draw_bbox=True, show=False)
    assert out.shape == (32, 64, 3)  # gt and prediction side by side
    # the keypoint at (10, 12) was drawn in the prediction half (right), in its colour
    assert out[12, 32 + 10].any() and not out[31, 32 + 31].any()


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
@pytest.mark.parametrize('hue_factor', [-0.25, -0.45, 0.25])
def test_color_jitter_hue_shifts_wrap_under_numpy2(backend, hue_factor):
    """mmcv's adjust_hue (mmpretrain ColorJitter) with a negative factor: the hue of a pure
    colour moves by int(255 * factor) / 256 of a turn, wrapping as under NumPy 1 (colorsys)."""
    import colorsys

    import mmcv
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 255  # pure red, hue 0
    out = mmcv.adjust_hue(bgr, hue_factor, backend=backend)
    hue = (int(hue_factor * 255) % 256) / 256
    expected_rgb = np.array(colorsys.hsv_to_rgb(hue, 1.0, 1.0)) * 255
    assert np.abs(out[..., ::-1].astype(float) - expected_rgb).max() <= 6


def test_color_jitter_with_hue_runs_in_a_view_pipeline():
    """The SimCLR-style ColorJitter (hue 0.4) transforms many images without raising."""
    from mmpretrain.datasets.transforms import ColorJitter
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.4)
    img = (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)
    for _ in range(50):
        out = jitter(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8


def test_every_fix_has_a_version_guard():
    """Each fix is applied only on the versions with the defect."""
    from mmdiffrep.compat import checkpoint_loading, cpu_distributed, mmpose_numpy2
    assert checkpoint_loading.needed('2.6.0') and checkpoint_loading.needed('2.14.1+cu130')
    assert not checkpoint_loading.needed('2.5.1')  # weights_only was not the default yet
    assert mmpose_numpy2.needed('2.4.0') and not mmpose_numpy2.needed('1.26.4')
    from mmdiffrep.compat import mmcv_hue_numpy2
    assert mmcv_hue_numpy2.needed('2.4.6') and not mmcv_hue_numpy2.needed('1.26.4')
    assert cpu_distributed.needed('0.10.7') and not cpu_distributed.needed('0.11.0')
    from mmdiffrep.compat import atomic_checkpoints, empty_datasets
    assert atomic_checkpoints.needed('0.10.7') and not atomic_checkpoints.needed('0.11.0')
    assert empty_datasets.needed('0.10.7') and not empty_datasets.needed('0.11.0')


def test_local_writes_are_atomic(tmp_path):
    """A failing write leaves the old file intact and no temporary file behind."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    path = tmp_path / 'ckpt.pth'
    LocalBackend().put(b'old', path)
    with pytest.raises(TypeError):
        LocalBackend().put(object(), path)  # not bytes: the write fails half-way
    assert path.read_bytes() == b'old' and [p.name for p in tmp_path.iterdir()] == ['ckpt.pth']
    LocalBackend().put_text('new', path)
    assert path.read_text() == 'new'


class _Payload:
    """Runs ``touch MARKER`` when unpickled (``weights_only=False``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_url_checkpoints_load_weights_only(tmp_path, monkeypatch):
    """Regression (security): init_cfg Pretrained with an http(s):// checkpoint went through
    torch.hub with weights_only=False, so a crafted file served on the loopback ran its
    payload. Now it is refused, and a legitimate mmengine checkpoint still loads."""
    import http.server
    import threading
    from mmengine.logging import MessageHub
    from mmengine.runner import CheckpointLoader
    marker = tmp_path / 'PWNED'
    serve = tmp_path / 'www'
    serve.mkdir()
    torch.save(dict(state_dict={'w': torch.ones(2)}, meta=dict(x=_Payload(marker))),
               serve / 'evil.pth')
    hub = MessageHub.get_instance('url-test')
    hub.update_scalar('train/loss', 1.0)
    torch.save(dict(state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                    meta=dict(epoch=np.int64(1))), serve / 'good.pth')
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(serve), **k)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    base = f'http://127.0.0.1:{server.server_address[1]}'
    try:
        with pytest.raises(pickle.UnpicklingError):
            CheckpointLoader.load_checkpoint(f'{base}/evil.pth', map_location='cpu')
        assert not marker.exists()
        good = CheckpointLoader.load_checkpoint(f'{base}/good.pth', map_location='cpu')
        assert torch.equal(good['state_dict']['w'], torch.ones(2))
    finally:
        server.shutdown()


def test_object_dtype_arrays_are_not_allowed(tmp_path):
    """The allow-list is what mmengine checkpoints contain: numeric / string NumPy arrays, not
    object arrays (which carry arbitrary pickled Python objects)."""
    torch.save(dict(meta=dict(x=np.array([1, 'a', None], dtype=object))), tmp_path / 'o.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / 'o.pth', map_location='cpu')
    torch.save(dict(meta=dict(x=np.array(['a', 'b']))), tmp_path / 's.pth')
    assert torch.load(tmp_path / 's.pth', map_location='cpu')['meta']['x'].tolist() == ['a', 'b']


def _empty_split(root):
    """An annotation directory whose lists name no sample, in each toolbox's format."""
    import json
    os.makedirs(os.path.join(root, 'annotations'))
    for name in ('cls_train.txt', 'seg_train.txt'):
        open(os.path.join(root, 'annotations', name), 'w').close()
    with open(os.path.join(root, 'annotations', 'kpt_train.json'), 'w') as f:
        json.dump(dict(images=[], annotations=[],
                       categories=[dict(id=1, name='shape', keypoints=['c'], skeleton=[])]), f)


def test_an_empty_annotation_list_names_the_dataset_and_its_file(tmp_path, repo_root):
    """Regression: an empty list failed with numpy's 'need at least one array to concatenate'
    (mmpretrain, mmseg, mmpose alike), naming neither the dataset nor its file."""
    from mmengine.config import Config
    from mmpose.datasets import CocoDataset
    from mmpretrain.datasets import CustomDataset
    from mmseg.datasets import BaseSegDataset

    from mmdiffrep.datasets import read_cls_split
    _empty_split(str(tmp_path))
    root = str(tmp_path)
    builders = [
        ('CustomDataset', 'cls_train.txt', lambda: CustomDataset(
            data_root=root, ann_file='annotations/cls_train.txt', data_prefix='images/train',
            classes=['a', 'b'])),
        ('BaseSegDataset', 'seg_train.txt', lambda: BaseSegDataset(
            data_root=root, ann_file='annotations/seg_train.txt',
            data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
            metainfo=dict(classes=['background', 'a']))),
        ('CocoDataset', 'kpt_train.json', lambda: CocoDataset(
            data_root=root, ann_file='annotations/kpt_train.json',
            data_prefix=dict(img='images/train'),
            metainfo=Config.fromfile(os.path.join(
                repo_root, 'configs/_base_/datasets/shapes32_kpt.py')).shapes_metainfo)),
    ]
    for cls, ann, build in builders:
        with pytest.raises(ValueError, match=rf'{cls} has no samples: ann_file=.*{ann}'):
            build()
    with pytest.raises(ValueError, match='cls_train.txt lists no images'):
        read_cls_split(root, 'annotations/cls_train.txt', 'images/train')
