"""The zero-shot Diffusion Classifier: errors against a hand computation, the adaptive
schedule, and a run through tools/test.py with mmpretrain's Accuracy."""
import json
import os.path as osp

import pytest
import torch
from diffusers import UNet2DModel

import mmdiffrep  # noqa: F401
from mmdiffrep.registry import MODELS

UNET = dict(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(8, 16),
            layers_per_block=1, norm_num_groups=4, num_class_embeds=4,
            down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'))


@pytest.fixture(scope='module')
def unet_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('cond') / 'unet'
    UNet2DModel(**UNET).save_pretrained(path)
    return str(path)


def build(unet_dir, **kw):
    return MODELS.build(dict(type='mmdiffrep.DiffusionClassifier', pretrained=unet_dir, **kw))


def test_errors_and_prediction_match_a_hand_computation(unet_dir):
    from diffusers import DDPMScheduler
    model = build(unet_dir, stages=[(None, 3)], seed=7)
    x0 = torch.rand(2, 3, 32, 32) * 2 - 1
    errors = model.scores(x0)
    t, noise = model.draws(x0.shape[1:], 'cpu')
    assert len(set(t.tolist())) == 3 and t.min() >= 0 and t.max() < 1000
    unet = UNet2DModel.from_pretrained(unet_dir).eval()
    sched = DDPMScheduler()
    expected = torch.zeros(2, 4)
    with torch.no_grad():
        for c in range(4):
            for ti, eps in zip(t, noise):
                x_t = sched.add_noise(x0, eps.expand_as(x0), ti.expand(2))
                pred = unet(x_t, ti.expand(2), class_labels=torch.full((2, ), c)).sample
                expected[:, c] += (pred - eps).pow(2).mean((1, 2, 3)) / 3
    torch.testing.assert_close(errors, expected, rtol=1e-4, atol=1e-6)
    samples = model(x0, None, mode='predict')
    assert [int(s.pred_label) for s in samples] == expected.argmin(1).tolist()
    assert model.forwards_per_image == 3 * 4


def test_adaptive_schedule_spends_the_late_draws_on_the_best_classes(unet_dir):
    x0 = torch.rand(3, 3, 32, 32) * 2 - 1
    first = build(unet_dir, stages=[(None, 2)], seed=1).scores(x0)
    model = build(unet_dir, stages=[(None, 2), (1, 3)], seed=1)
    errors = model.scores(x0)
    assert model.forwards_per_image == 2 * 4 + 3 * 1
    assert torch.isfinite(errors).sum(1).tolist() == [1, 1, 1]  # one survivor per image
    assert errors.argmin(1).tolist() == first.argmin(1).tolist()
    with pytest.raises(ValueError, match='is zero-shot'):
        model(x0, None, mode='loss')
    with pytest.raises(ValueError, match=r'keep in \[1, 4\]'):
        build(unet_dir, stages=[(5, 2)])
    with pytest.raises(ValueError, match='needs a class-conditional U-Net'):
        MODELS.build(dict(type='mmdiffrep.DiffusionClassifier',
                          unet_cfg=dict(UNET, num_class_embeds=None, type='UNet2DModel')))


def test_tools_test_scores_it_with_the_toolbox_accuracy(tmp_path, repo_root, shapes_root,
                                                        unet_dir, subprocess_env):
    import subprocess
    import sys
    cfg = tmp_path / 'dc.py'
    cfg.write_text('\n'.join([
        "_base_ = ['mmpretrain::_base_/default_runtime.py', "
        f"{osp.join(repo_root, 'configs/_base_/datasets/shapes32_cls.py')!r}]",
        f"model = dict(type='mmdiffrep.DiffusionClassifier', pretrained={unet_dir!r}, "
        "num_classes=4, stages=[(None, 1), (2, 1)], data_preprocessor=dict("
        "type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, "
        "to_rgb=True))",
        f"test_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root={shapes_root + '/'!r}))",
        'train_dataloader = None', 'val_dataloader = None', 'val_evaluator = None',
        'val_cfg = None', 'train_cfg = None', 'optim_wrapper = None', 'test_cfg = dict()',
    ]))
    out = subprocess.run([sys.executable, 'tools/test.py', str(cfg), 'none', '--work-dir',
                          str(tmp_path / 'w')], cwd=repo_root, env=subprocess_env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'U-Net forwards per image' in out.stdout + out.stderr
    metrics = json.load(open(tmp_path / 'w' / 'test_metrics.json'))
    assert 0 <= metrics['accuracy/top1'] <= 100
