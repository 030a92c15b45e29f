"""Configs for GPU users (pretrained hub U-Nets): each builds in its toolbox and runs one
forward with a randomly initialised U-Net of the published architecture (no download)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

# Architectures of the hub models the configs name (their published config.json files).
PUBLISHED = {
    'google/ddpm-cifar10-32': dict(
        type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
        block_out_channels=(128, 256, 256, 256), layers_per_block=2,
        down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D')),
    'google/ddpm-bedroom-256': dict(
        type='UNet2DModel', sample_size=256, in_channels=3, out_channels=3,
        block_out_channels=(128, 128, 256, 256, 512, 512), layers_per_block=2,
        down_block_types=('DownBlock2D', ) * 4 + ('AttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'AttnUpBlock2D') + ('UpBlock2D', ) * 4),
}

CONFIGS = [
    ('configs/diffusion_unet/ddae_ddpm-cifar10-32_1xb128-15e_cifar10-32x32.py', 32,
     lambda out: out.shape == (2, 10)),
    ('configs/diffusion_unet/ddpm-seg_ddpm-bedroom-256_1xb4-10k_ade20k-256x256.py', 64,
     lambda out: out.shape == (2, 150, 64, 64)),
]


@pytest.mark.parametrize('path,size,check', CONFIGS, ids=[osp.basename(c[0]) for c in CONFIGS])
def test_gpu_config_builds_and_runs_with_random_unet(repo_root, path, size, check):
    cfg = Config.fromfile(osp.join(repo_root, path))
    backbone = cfg.model.backbone
    backbone.unet_cfg = PUBLISHED[backbone.pop('pretrained')]
    backbone.pop('weights_dtype', None)  # fp16 weights are for the GPU
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model).eval()
    x = torch.rand(2, 3, size, size) * 255
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=list(x)), False)
        out = model(data['inputs'], mode='tensor')
    if cfg.default_scope == 'mmseg':
        out = torch.nn.functional.interpolate(out, size=(size, size))
    assert check(out), getattr(out, 'shape', out)
