"""Representation alignment (REPA) and the dispersive loss for diffusers U-Nets in DDPM."""
import copy
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F

import mmdiffrep  # noqa: F401
from mmdiffrep.registry import MODELS

TINY = dict(type='UNet2DModel', sample_size=16, in_channels=3, out_channels=3,
            block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
            down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'))
ENCODER = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
               out_indices=(2, ))  # 32 channels at 4 x 4 for 16 px: the U-Net's mid is 8 x 8
MEAN, STD = [120.0, 110.0, 100.0], [60.0, 55.0, 50.0]


def build(**align):
    cfg = dict(type='mmdiffrep.RepresentationAlignment', block='mid', encoder=ENCODER,
               encoder_mean=MEAN, encoder_std=STD, hidden=24, probe_size=16)
    cfg.update(align)
    return MODELS.build(dict(type='mmdiffrep.DDPM', unet_cfg=TINY, alignment=cfg))


def test_alignment_loss_equals_an_independent_computation():
    """Same draws, plain diffusers forward with a hook on the mid block, the encoder on the
    clean image in its own normalisation, the projector, bilinear resize to the encoder grid,
    -lambda * mean cosine; the diffusion term is the plain DDPM's."""
    torch.manual_seed(0)
    model = build()
    x0 = torch.rand(3, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    losses = model.loss(x0)

    torch.manual_seed(1)
    t = torch.randint(0, 1000, (3, ))
    eps = torch.randn_like(x0)
    x_t = model.scheduler.add_noise(x0, eps, t)
    store = {}
    handle = model.unet.mid_block.register_forward_hook(lambda m, a, o: store.update(h=o))
    pred = model.unet(x_t, t).sample
    handle.remove()
    encoder = model.alignment.encoder.module
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        target = encoder(((x0 + 1) * 127.5 - mean) / std)[-1]
    proj = F.interpolate(model.alignment.projector(store['h']), size=target.shape[-2:],
                         mode='bilinear', align_corners=False)
    align = -0.5 * F.cosine_similarity(proj, target, dim=1).mean()
    torch.testing.assert_close(losses['loss_align'], align, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(losses['loss_diffusion'], F.mse_loss(pred, eps), rtol=1e-5,
                               atol=1e-6)


def test_encoder_is_frozen_unsaved_and_shared_by_ema_copies():
    from mmengine.model import ExponentialMovingAverage
    model = build()
    assert not any('encoder' in n for n, _ in model.named_parameters())
    assert not any('encoder' in k for k in model.state_dict())  # never saved
    losses = model.loss(torch.rand(2, 3, 16, 16) * 2 - 1)
    losses['loss_align'].backward()
    assert all(p.grad is None and not p.requires_grad
               for p in model.alignment.encoder.parameters())
    assert model.alignment.projector[0].weight.grad.abs().sum() > 0
    assert model.unet.mid_block.resnets[0].conv1.weight.grad.abs().sum() > 0  # U-Net aligned
    assert not any(p.grad is not None for p in model.unet.up_blocks.parameters())
    ema = ExponentialMovingAverage(model, momentum=0.1)
    assert ema.module.alignment.encoder.module is model.alignment.encoder.module
    # the encoder stays in eval mode when the model trains
    model.train()
    assert not model.alignment.encoder.module.training


def test_stop_after_turns_alignment_off_and_survives_a_reload():
    model = build(stop_after=2, projector='conv')
    model.train()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert 'loss_align' in model.loss(x) and 'loss_align' in model.loss(x)
    assert 'loss_align' not in model.loss(x)  # iteration 3
    fresh = build(stop_after=2, projector='conv')
    fresh.load_state_dict(model.state_dict())
    assert int(fresh.alignment.steps) == 2 and 'loss_align' not in fresh.loss(x)


def test_dispersive_loss_needs_no_encoder_and_pushes_features_apart():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='mmdiffrep.DDPM', unet_cfg=TINY, alignment=dict(
        type='mmdiffrep.RepresentationAlignment', block='up.0', mode='dispersive',
        loss_weight=0.25, probe_size=16)))
    assert model.alignment.projector is None
    losses = model.loss(torch.rand(4, 3, 16, 16) * 2 - 1)
    assert losses['loss_align'] <= 0  # log of a mean of exp(-d) <= 0
    losses['loss_align'].backward()
    assert model.unet.down_blocks[0].resnets[0].conv1.weight.grad.abs().sum() > 0


def test_bad_alignment_configs_are_clear_errors():
    with pytest.raises(ValueError, match="mode='repa' aligns to an encoder"):
        build(encoder=None)
    with pytest.raises(ValueError, match="mode='dispersive' uses no encoder"):
        build(mode='dispersive')
    with pytest.raises(ValueError, match="unknown projector 'linear'"):
        build(projector='linear')
    with pytest.raises(KeyError, match="unknown U-Net block 'middle'"):
        build(block='middle')
    vit = dict(type='mmpretrain.VisionTransformer', arch=dict(
        embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32), img_size=16,
        patch_size=8, out_type='cls_token')
    with pytest.raises(ValueError, match=r"needs an NCHW map \(for ViTs use out_type='featmap'\)"):
        build(encoder=vit)


def test_export_drops_the_projector(repo_root):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    import ddpm_to_diffusers
    model = build()
    state = ddpm_to_diffusers.unet_state(dict(state_dict=copy.deepcopy(model.state_dict())),
                                         use_ema=False)
    assert set(state) == set(model.unet.state_dict())


def test_label_free_encoder_chain_simclr_probe_and_repa(tmp_path, repo_root, shapes_root,
                                                        train_cli):
    """The label-free REPA chain end to end on tiny data: the SimCLR config trains (no label
    file, hue-jittered views), the probe tool scores its pooled backbone, and the label-free
    REPA config's encoder loads exactly that backbone."""
    import numpy as np
    from mmengine.config import Config
    sys.path.insert(0, osp.join(repo_root, 'tools', 'analysis'))
    import probe_codes
    simclr = osp.join(repo_root, 'configs', 'simclr',
                      'simclr_vgg11-bn_1xb256-800it_shapes20k-32x32.py')
    cfg = tmp_path / 'simclr_tiny.py'
    cfg.write_text(
        f"_base_ = ['{simclr}']\n"
        f"train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root='{shapes_root}'))\n"
        "train_cfg = dict(max_iters=2)\n"
        "default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))\n")
    built = Config.fromfile(str(cfg))
    assert built.train_dataloader.dataset.with_label is False
    assert 'ann_file' not in built.train_dataloader.dataset
    work = tmp_path / 'work'
    log = train_cli(cfg, '--work-dir', str(work))
    assert 'loss:' in log
    ckpt = str(work / 'iter_2.pth')

    out = tmp_path / 'probe'
    probe_codes.main([str(cfg), ckpt, '--data', shapes_root, '--k', '3', '--save-codes',
                      '--out-dir', str(out)])
    codes = np.load(out / 'codes.npz')
    # independent: the checkpoint's backbone on [-1, 1] images, averaged over positions
    from mmpretrain.models import VGG
    vgg = VGG(depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
              norm_cfg=dict(type='BN'), with_last_pool=False)
    vgg.eval()  # (VGG.train returns None)
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    vgg.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                         if k.startswith('backbone.')})
    from mmdiffrep.datasets import read_cls_split
    images, _ = read_cls_split(shapes_root, 'annotations/cls_test.txt', 'images/test')
    with torch.no_grad():
        direct = vgg(images[:4] / 127.5 - 1)[-1].mean((2, 3))
    assert codes['eval_codes_0'].shape[1] == 512
    assert np.allclose(codes['eval_codes_0'][:4], direct.numpy(), atol=1e-4)

    repa = Config.fromfile(osp.join(
        repo_root, 'configs', 'repa',
        'repa_ddpm-unet-shapes32-vminsnr_vgg11-bn-simclr_1xb64-1200it_shapes20k-32x32.py'))
    encoder_cfg = repa.model.alignment.encoder
    assert encoder_cfg.init_cfg.checkpoint.startswith('work_dirs/simclr_shapes32/')
    encoder_cfg.init_cfg.checkpoint = ckpt
    encoder = MODELS.build(encoder_cfg)
    encoder.init_weights()
    for name, value in vgg.state_dict().items():
        assert torch.equal(encoder.state_dict()[name], value), name
