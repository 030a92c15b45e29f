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
    'runwayml/stable-diffusion-v1-5': dict(  # unet/config.json
        type='UNet2DConditionModel', sample_size=64, in_channels=4, out_channels=4,
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
        attention_head_dim=8,
        down_block_types=('CrossAttnDownBlock2D', ) * 3 + ('DownBlock2D', ),
        up_block_types=('UpBlock2D', ) + ('CrossAttnUpBlock2D', ) * 3),
    'stabilityai/stable-diffusion-2-1': dict(
        type='UNet2DConditionModel', sample_size=96, in_channels=4, out_channels=4,
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
        cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20),
        use_linear_projection=True,
        down_block_types=('CrossAttnDownBlock2D', ) * 3 + ('DownBlock2D', ),
        up_block_types=('UpBlock2D', ) + ('CrossAttnUpBlock2D', ) * 3),
}
SD_VAE = dict(  # vae/config.json of SD 1.5 / 2.1
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512), down_block_types=('DownEncoderBlock2D', ) * 4,
    up_block_types=('UpDecoderBlock2D', ) * 4, scaling_factor=0.18215)

CONFIGS = [
    ('configs/diffusion_unet/ddae_ddpm-cifar10-32_1xb128-15e_cifar10-32x32.py', 32,
     lambda out: out.shape == (2, 10)),
    ('configs/diffusion_unet/ddpm-seg_ddpm-bedroom-256_1xb4-10k_ade20k-256x256.py', 64,
     lambda out: out.shape == (2, 150, 64, 64)),
    ('configs/diffusion_unet/vpd_sd15_1xb8-80k_ade20k-512x512.py', 64,
     lambda out: out.shape == (2, 150, 64, 64)),
    ('configs/diffusion_unet/td-hm_dift-sd21_1xb32-210e_coco-256x192.py', 64,
     lambda out: out.shape == (2, 17, 16, 16)),
]


@pytest.mark.parametrize('path,size,check', CONFIGS, ids=[osp.basename(c[0]) for c in CONFIGS])
def test_gpu_config_builds_and_runs_with_random_unet(repo_root, tmp_path, path, size, check):
    cfg = Config.fromfile(osp.join(repo_root, path))
    backbone = cfg.model.backbone
    arch = PUBLISHED[backbone.pop('pretrained')]
    backbone.unet_cfg = arch
    backbone.pop('subfolder', None)
    backbone.pop('weights_dtype', None)  # fp16 weights are for the GPU
    if 'vae' in backbone:
        backbone.vae.pop('pretrained')
        backbone.vae.pop('subfolder', None)
        backbone.vae.cfg = SD_VAE
    if backbone.get('condition', {}).get('type') == 'mmdiffrep.PromptEmbedding':
        # a stand-in for the cached CLIP embedding of the prompt
        cache = tmp_path / 'prompt.pt'
        torch.save(dict(text=backbone.condition.text,
                        embeds=torch.randn(77, arch['cross_attention_dim'])), cache)
        backbone.condition = dict(backbone.condition, cache=str(cache), pretrained=None)
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model).eval()
    x = torch.rand(2, 3, size, size) * 255
    with torch.no_grad():
        norm = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
        mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
        std = torch.tensor(norm.std).view(1, 3, 1, 1)
        inputs = (x - mean) / std  # what the toolbox preprocessor does to the batch
        out = model(inputs, None, mode='tensor')
    if cfg.default_scope == 'mmseg':
        out = torch.nn.functional.interpolate(out, size=(size, size))
    del model
    assert check(out), getattr(out, 'shape', out)


DDPM_CONFIGS = [
    ('configs/ddpm/ddpm_unet-cifar10-32_1xb128-800k_cifar10-32x32.py',
     'google/ddpm-cifar10-32', 32),
    ('configs/ddpm/ddpm_unet-celebahq-256_8xb8-500k_celebahq-256x256.py',
     'google/ddpm-bedroom-256', 256),  # the same architecture as ddpm-ema-celebahq-256
    ('configs/ddpm/ddpm_unet-adm64_8xb32-300k_tiny-imagenet-64x64.py', None, 64),
]


@pytest.mark.parametrize('path,published,size', DDPM_CONFIGS,
                         ids=[osp.basename(c[0]) for c in DDPM_CONFIGS])
def test_gpu_ddpm_config_builds_the_published_unet_and_computes_a_loss(repo_root, path,
                                                                       published, size):
    cfg = Config.fromfile(osp.join(repo_root, path))
    arch = dict(PUBLISHED[published]) if published else {}  # ADM-style: no hub original
    for key, value in arch.items():  # the config's U-Net is the published one
        assert tuple(cfg.model.unet_cfg[key]) == tuple(value) if isinstance(value, tuple) \
            else cfg.model.unet_cfg[key] == value, key
    from mmdiffrep.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    with torch.no_grad():
        loss = model.loss(torch.rand(1, 3, size, size) * 2 - 1)['loss_diffusion']
    assert torch.isfinite(loss) and 0.1 < loss.item() < 10  # an untrained model: ~1


DRL_CONFIGS = ['configs/drl/drl_resnet18-cifar_1xb64-250k_cifar10-32x32.py',
               'configs/drl/vdrl_resnet18-cifar_1xb64-250k_cifar10-32x32.py',
               'configs/drl/drl_resnet18-cifar_1xb64-250k_cifar100-32x32.py']


@pytest.mark.parametrize('path', DRL_CONFIGS, ids=[osp.basename(c) for c in DRL_CONFIGS])
def test_gpu_drl_config_builds_and_computes_a_loss(repo_root, path):
    cfg = Config.fromfile(osp.join(repo_root, path))
    assert cfg.model.sde == dict(type='ve', sigma_min=0.01, sigma_max=50.0)  # the paper's
    assert cfg.train_cfg.max_iters == 250000 and cfg.train_dataloader.batch_size == 64
    from mmdiffrep.registry import MODELS
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    losses = model.loss(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert torch.isfinite(losses['loss_score']) and f"loss_{cfg.model.regularizer}" in losses


@pytest.mark.parametrize('path,classes,labels', [
    ('configs/drl/resnet18-cifar-drl_1xb64-400e_cifar10-4000labels-32x32.py', 10, 4000),
    ('configs/drl/resnet18-cifar-drl_1xb64-400e_cifar100-10000labels-32x32.py', 100, 10000)])
def test_gpu_drl_finetune_config_reads_the_encoder(repo_root, path, classes, labels):
    cfg = Config.fromfile(osp.join(repo_root, path))
    assert cfg.train_dataloader.dataset.indices == labels
    assert cfg.model.backbone.init_cfg.prefix == 'encoder.'
    assert cfg.model.head.num_classes == classes == cfg.data_preprocessor.num_classes
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)  # weights are loaded by the runner (init_weights)
    assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, classes)
