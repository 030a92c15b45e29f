"""Regression guards for the README's evidence (fast, fixed seeds, independent computations).

* the shipped Shapes teacher's pooled features classify Shapes clearly better than the
  features of a random U-Net of the same architecture (a broken export, a wrong input range
  or a swapped scheduler brings the two together);
* a short run of the classification baseline's recipe (its model, optimiser and schedule
  shape from the config) lowers the training loss at the rate the converged recipe shows;
  the first, stalled recipe (CIFAR ResNet-18 + AdamW) does not, and the test says so.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdiffrep.datasets.shapes import render_sample

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEACHER = osp.join(ROOT, 'checkpoints', 'ddpm-shapes32')
CLS_BASELINE = osp.join(ROOT, 'configs', 'baselines', 'cls_vgg11-bn_1xb64-30e_shapes-32x32.py')
OLD_CLS_BASELINE = osp.join(ROOT, 'configs', 'baselines',
                            'cls_resnet18-cifar_1xb64-30e_shapes-32x32.py')


def shapes_tensors(split, n, offset=0):
    """(images in [-1, 1], labels) of Shapes samples generated in memory."""
    samples = [render_sample(0, split, offset + i, 32) for i in range(n)]
    x = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).float()
    return (x - 127.5) / 127.5, torch.tensor([s.label for s in samples])


def nearest_centroid_accuracy(ftr, ytr, fte, yte):
    """Top-1 (%) of a nearest-class-mean classifier on standardised features: no training,
    nothing to tune, an independent check of how class-separable the features are."""
    mean, std = ftr.mean(0), ftr.std(0) + 1e-6
    ftr, fte = (ftr - mean) / std, (fte - mean) / std
    centroids = torch.stack([ftr[ytr == c].mean(0) for c in range(6)])
    pred = torch.cdist(fte, centroids).argmin(1)
    return (pred == yte).float().mean().item() * 100


@torch.no_grad()
def pooled_features(backbone, x):
    return torch.cat([backbone(x[i:i + 100])[0] for i in range(0, len(x), 100)])


def test_shipped_teacher_features_beat_random_unet():
    from mmengine.config import Config

    from mmdiffrep.models.backbones import DiffusionUNet
    with open(osp.join(TEACHER, 'mmdiffrep_meta.json')) as f:
        meta = json.load(f)
    block, t = meta['probe_block'], meta['probe_timestep']  # the val-selected cell
    xtr, ytr = shapes_tensors('train', 600)
    xte, yte = shapes_tensors('test', 300)
    kwargs = dict(blocks=[block], timesteps=[t], noise='fixed', out_type='pooled',
                  noise_seed=0)
    teacher = DiffusionUNet(pretrained=TEACHER, subfolder='unet', **kwargs).eval()
    torch.manual_seed(0)
    unet_cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/models/unet_shapes32.py'))
    random_unet = DiffusionUNet(unet_cfg=unet_cfg.unet_cfg.to_dict(), **kwargs).eval()
    acc = {name: nearest_centroid_accuracy(pooled_features(m, xtr), ytr,
                                           pooled_features(m, xte), yte)
           for name, m in (('teacher', teacher), ('random', random_unet))}
    # measured (600 train / 300 test generated images, up.0.pre at t = 300): shipped teacher
    # 31.3 %, random U-Net 16.3 % (chance 16.7 %); the previous, 1100-iteration teacher at its
    # own best cell gave 21.0 vs 18.0 and would fail this margin
    assert acc['teacher'] >= acc['random'] + 10, acc


def short_run_losses(config, iters=60, n=640, seed=0):
    """Train the config's model with its optimiser on ``n`` generated images for ``iters``
    iterations (batch 64, the config's augmentation-free input), with the config's schedule
    shape compressed to the short run (one cycle / warm-up + cosine); per-iteration losses."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    opt = optim.optimizer
    lr = opt.param_groups[0]['lr']
    if cfg.optim_wrapper.optimizer.type == 'SGD':
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=iters)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters)
    x, y = shapes_tensors('train', n)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(iters):
        idx = torch.randint(0, n, (64, ), generator=gen)
        feats = model.extract_feat(x[idx])
        loss = F.cross_entropy(model.head(feats), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize('config,learns', [(CLS_BASELINE, True), (OLD_CLS_BASELINE, False)],
                         ids=['vgg11-bn-sgd', 'old-resnet18-cifar-adamw'])
def test_cls_baseline_recipe_learns_at_the_converged_rate(config, learns):
    losses = short_run_losses(config)
    final = float(np.mean(losses[-10:]))
    # chance is ln 6 = 1.79; measured (mean of the last 10 of 60 iterations, seed 0): the
    # VGG-11-BN + SGD one-cycle recipe 0.88, the stalled CIFAR ResNet-18 + AdamW recipe 1.63
    assert (final < 1.3) == learns, (osp.basename(config), final, losses[::10])
