"""Non-finite values: NaN / inf inputs are clear errors in every model that takes images, and
a non-finite loss stops training (FiniteLossHook) before a checkpoint stores NaN weights."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmdiffrep.engine.hooks import FiniteLossHook
from mmdiffrep.models.algorithms import DDPM
from mmdiffrep.models.backbones import DiffusionUNet
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_finite

TINY = dict(type='UNet2DModel', sample_size=16, block_out_channels=(16, 32), layers_per_block=1,
            norm_num_groups=8, down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'))


def images(bad=None, n=2, size=16):
    x = torch.rand(n, 3, size, size) * 2 - 1
    if bad is not None:
        x[1, 2, 3, 4] = bad
    return x


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_check_finite_counts_the_bad_values(bad):
    x = images()
    x[0, 0, :2, :3] = bad  # 6 bad values out of 1536
    with pytest.raises(ValueError, match=r'pixels contain NaN or inf \(6 of 1536 values\)'):
        check_finite(x, 'pixels')
    check_finite(images(), 'pixels', bound=1.0)  # in range: no error
    with pytest.raises(ValueError, match=r'span \[.*\], outside \[-1, 1\]; fix it'):
        check_finite(images() * 3, 'pixels', bound=1.0, hint='fix it')
    with pytest.raises(ValueError, match=r'pixels is empty \(shape \(0, 3\)\)'):
        check_finite(torch.zeros(0, 3), 'pixels')


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_images_are_errors_in_every_image_model(bad):
    """Regression: NaN inputs gave NaN features / losses with no error anywhere."""
    backbone = DiffusionUNet(unet_cfg=TINY, blocks=['mid'], timesteps=[10])
    with pytest.raises(ValueError, match='DiffusionUNet inputs contain NaN or inf'):
        backbone(images(bad))
    with pytest.raises(ValueError, match='DDPM inputs contain NaN or inf'):
        DDPM(TINY).loss(images(bad))
    drl = MODELS.build(dict(
        type='mmdiffrep.DRL', unet_cfg=TINY, probe_size=16,
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3,
                               std=[127.5] * 3),
        encoder=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8)))
    with pytest.raises(ValueError, match='DRL inputs contain NaN or inf'):
        drl.loss(images(bad))


class _Blows(BaseModel):
    """A toy regression whose loss turns NaN from its third iteration on."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.calls += 1
        scale = float('nan') if self.calls >= 3 else 1.0
        return dict(loss=(self.w * inputs.mean() * scale) ** 2)


def test_finite_loss_hook_stops_the_run_before_nan_weights_are_saved(tmp_path):
    runner = Runner(
        model=_Blows(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 8, batch_size=1,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        custom_hooks=[dict(type='mmdiffrep.FiniteLossHook')],
        default_scope='mmdiffrep')
    with pytest.raises(FloatingPointError, match=r'non-finite loss at iteration 3: loss=nan'):
        runner.train()
    saved = sorted(osp.basename(p) for p in glob.glob(str(tmp_path / 'iter_*.pth')))
    assert saved == ['iter_1.pth', 'iter_2.pth']  # nothing saved from the NaN step on


def test_finite_loss_hook_arguments_and_the_train_tool_adds_it():
    with pytest.raises(ValueError, match='interval must be a positive integer, got 0'):
        FiniteLossHook(interval=0)
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    sys.path.insert(0, osp.join(root, 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    from mmengine.config import Config
    cfg = Config(dict(work_dir='x', launcher='none', custom_hooks=[]))
    args = train.parse_args([osp.join(root, 'configs/baselines/'
                                      'cls_vgg11-bn_1xb64-30e_shapes-32x32.py')])
    types = [h['type'] for h in train.merge_args(cfg, args).custom_hooks]
    assert 'mmdiffrep.FiniteLossHook' in types and 'mmdiffrep.RandomStateHook' in types
