"""DRL: noise processes against their closed forms, the loss against an independent
computation, the code's information, gradients, export, the probe tool, and bad input."""
import copy
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import load_checkpoint

from mmdiffrep.diffusion.noise_processes import VESDE, VPSDE, build_noise_process
from mmdiffrep.diffusion.objective import TimeSampling, Weighting
from mmdiffrep.models.algorithms.drl import DRL
from mmdiffrep.registry import MODELS

TINY_UNET = dict(type='UNet2DModel', sample_size=16, block_out_channels=(16, 32),
                 layers_per_block=1, norm_num_groups=4,
                 down_block_types=('DownBlock2D', 'DownBlock2D'),
                 up_block_types=('UpBlock2D', 'UpBlock2D'))
TINY_ENCODER = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8)


def build(**kwargs) -> DRL:
    cfg = dict(type='mmdiffrep.DRL', encoder=TINY_ENCODER, unet_cfg=TINY_UNET, probe_size=16,
               data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                      mean=[127.5] * 3, std=[127.5] * 3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


# -- noise processes ----------------------------------------------------------------------------
def test_ve_noising_matches_closed_form():
    sde = build_noise_process(dict(type='ve', sigma_min=0.01, sigma_max=50))
    t = torch.tensor([0.0, 1e-3, 0.3, 0.75, 1.0])
    x0, eps = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    x_t, std = sde.perturb(x0, t, eps)
    sigma = 0.01 * (50 / 0.01) ** t.double()
    expected_std = torch.sqrt(sigma ** 2 - 0.01 ** 2).float()  # N(x0, [s(t)^2 - s(0)^2] I)
    assert torch.allclose(std, expected_std, rtol=1e-5, atol=1e-7)
    assert torch.allclose(x_t, x0 + expected_std.view(-1, 1, 1, 1) * eps, atol=1e-5)
    assert torch.allclose(sde.sigma(t), sigma.float(), rtol=1e-5)
    assert torch.allclose(sde.t_from_sigma(sde.sigma(t)), t, atol=1e-5)


@pytest.mark.parametrize('schedule', ['linear', 'cosine'])
def test_vp_noising_matches_closed_form(schedule):
    sde = VPSDE(num_train_timesteps=1000, beta_schedule=schedule)
    if schedule == 'linear':
        betas = np.linspace(1e-4, 0.02, 1000)
    else:  # Nichol & Dhariwal: abar(t) = f(t) / f(0), betas capped at 0.999
        f = lambda s: np.cos((s / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
        betas = np.minimum(1 - f(np.arange(1, 1001)) / f(np.arange(1000)), 0.999)
    abar = np.cumprod(1 - betas)
    t = torch.tensor([0.0, 0.1, 0.5, 0.999, 1.0])
    steps = np.round(t.numpy() * 999).astype(int)
    x0, eps = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    x_t, std = sde.perturb(x0, t, eps)
    a = torch.tensor(np.sqrt(abar[steps]), dtype=torch.float32).view(-1, 1, 1, 1)
    s = torch.tensor(np.sqrt(1 - abar[steps]), dtype=torch.float32)
    assert torch.allclose(std, s, atol=1e-5)
    assert torch.allclose(x_t, a * x0 + s.view(-1, 1, 1, 1) * eps, atol=1e-4)
    ratio = torch.tensor(np.sqrt((1 - abar[steps]) / abar[steps]), dtype=torch.float32)
    assert torch.allclose(sde.sigma(t), ratio, rtol=1e-3)  # diffusers' chain is float32
    # t_from_sigma inverts sigma on the chain's grid
    assert torch.allclose(sde.t_from_sigma(sde.sigma(t)), torch.tensor(steps / 999.0,
                                                                       dtype=torch.float32))


def test_uniform_sigma_sampling_is_uniform_in_sigma_and_respects_the_range():
    sde = VESDE(0.01, 50)
    torch.manual_seed(0)
    t = TimeSampling(sde, 'uniform_sigma', t_min=0.2, t_max=0.9)(20000, 'cpu')
    assert t.min() >= 0.2 and t.max() <= 0.9
    sigma = sde.sigma(t)
    lo, hi = sde.sigma(torch.tensor(0.2)).item(), sde.sigma(torch.tensor(0.9)).item()
    quartiles = torch.quantile(sigma, torch.tensor([0.25, 0.5, 0.75]))
    expected = torch.tensor([lo + q * (hi - lo) for q in (0.25, 0.5, 0.75)])
    assert torch.allclose(quartiles, expected, rtol=0.03)
    t = TimeSampling(sde, 'uniform_t', t_min=0.5, t_max=0.6)(1000, 'cpu')
    assert 0.5 <= t.min() and t.max() <= 0.6 and abs(t.mean().item() - 0.55) < 0.005


def test_loss_weightings():
    sde = VESDE(0.01, 50)
    t = torch.tensor([0.1, 0.25, 0.5, 1.0])
    std = sde.marginal(t)[1]
    ones = torch.ones(4)
    # the factor each weighting puts on an image's squared eps error
    assert torch.equal(Weighting('sigma2')(ones, t, sde, 'epsilon'), torch.ones(4))
    assert torch.equal(Weighting('none')(ones, t, sde, 'epsilon'), torch.ones(4))
    assert torch.allclose(Weighting('score')(ones, t, sde, 'epsilon'), 1 / std ** 2)
    curve = Weighting(dict(t=[0.0, 0.5, 1.0], weight=[0.0, 1.0, 3.0]))
    assert torch.allclose(curve(ones, t, sde, 'epsilon'), torch.tensor([0.2, 0.5, 1.0, 3.0]))
    # 'uniform' meant the plain MSE in DDPM and lambda = 1 in DRL: refused, both named
    with pytest.raises(ValueError, match="'none' .* or 'score'"):
        Weighting('uniform')


# -- the loss -----------------------------------------------------------------------------------
def test_loss_and_encoder_gradients_match_an_independent_computation():
    """Score + L1 recomputed by hand (closed-form VE noising, direct U-Net call): same value and
    the same encoder gradients, so the encoder is trained by these two terms only; it sees
    the clean image only."""
    torch.manual_seed(0)
    model = build(conditioning=('embedding', ), reg_weight=1e-2,
                  t_sampling=dict(type='uniform_t', t_min=0.1, t_max=0.9))
    x0 = torch.rand(3, 3, 16, 16) * 2 - 1
    seen = []
    model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    torch.manual_seed(1)
    losses = model.loss(x0)
    assert len(seen) == 1 and torch.equal(seen[0], x0)
    total = sum(v for k, v in losses.items() if 'loss' in k)  # mmengine's parse_losses
    assert not losses['code_abs'].requires_grad and not losses['t_mean'].requires_grad
    enc_params = list(model.encoder.parameters())
    got = torch.autograd.grad(total, enc_params)

    torch.manual_seed(1)  # the same draws, in the model's order: t, then the noise
    t = 0.1 + 0.8 * torch.rand(3)
    z = model.encoder(x0)[-1].mean((2, 3))
    eps = torch.randn_like(x0)
    std = torch.sqrt((0.01 * 5000 ** t) ** 2 - 0.01 ** 2).view(-1, 1, 1, 1)
    x_t = x0 + std * eps
    pred = model.unet(x_t / torch.sqrt(1 + std ** 2), t * 999,
                      class_labels=model.code_to_embedding(z)).sample
    score = (pred - eps).pow(2).sum((1, 2, 3)).mean()
    l1 = 1e-2 * z.abs().sum(1).mean()
    assert torch.allclose(losses['loss_score'], score, rtol=1e-5)
    assert torch.allclose(losses['loss_l1'], l1, rtol=1e-5)
    expected = torch.autograd.grad(score + l1, enc_params)
    for g, e in zip(got, expected):
        assert (g - e).norm() <= 1e-4 * e.norm() + 1e-7  # float32 summation order


def test_unconditional_model_trains_the_encoder_through_the_regulariser_only():
    torch.manual_seed(0)
    model = build(conditioning=(), reg_weight=1e-2)
    x0 = torch.randn(2, 3, 16, 16)
    losses = model.loss(x0)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    params = list(model.encoder.parameters())
    got = torch.autograd.grad(total, params, allow_unused=True)
    expected = torch.autograd.grad(1e-2 * model.encoder(x0)[-1].mean((2, 3)).abs().sum(1).mean(),
                                   params)
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, atol=1e-8)


def test_kl_regulariser_matches_torch_distributions():
    torch.manual_seed(0)
    model = build(regularizer='kl', reg_weight=1.0, code_dim=6)
    mu, logvar = torch.randn(4, 6), torch.randn(4, 6)
    kl = model.regularization(None, dict(mu=mu, logvar=logvar))
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(6), torch.ones(6))
    assert torch.allclose(kl, torch.distributions.kl_divergence(q, p).sum(1).mean(), rtol=1e-5)
    x = torch.randn(2, 3, 16, 16)
    model.eval()
    z1, z2 = model.extract_codes(x), model.extract_codes(x)
    assert torch.equal(z1, z2) and z1.shape == (2, 6)  # the mean at evaluation


def _quadrant_images(n, gen):
    """8x8 images of four flat quadrants with random colours: 12 numbers per image."""
    colours = torch.rand(n, 3, 2, 2, generator=gen) * 2 - 1
    return F.interpolate(colours, scale_factor=4, mode='nearest')


def test_conditional_score_loss_falls_below_the_unconditional_one():
    """At moderate noise (sigma 1.7..10) the denoiser cannot read the quadrant colours from x_t
    exactly; the encoder, which sees x0, can pass them on. With the code the denoising loss
    falls below what the same model reaches without it (the unconditional floor of Prop. 1)."""
    vit = dict(type='mmpretrain.VisionTransformer', img_size=8, patch_size=4,
               out_type='cls_token', arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                                               feedforward_channels=64))
    results = {}
    for name, conditioning in (('conditional', ('embedding', 'bottleneck')),
                               ('unconditional', ())):
        torch.manual_seed(0)
        model = build(encoder=vit, conditioning=conditioning, regularizer=None, probe_size=8,
                      unet_cfg=dict(TINY_UNET, sample_size=8),
                      t_sampling=dict(type='uniform_t', t_min=0.5, t_max=0.8))
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(1)
        for _ in range(600):  # conditional/unconditional 0.73-0.81 over seeds 0-3
            loss = model.loss(_quadrant_images(32, gen))['loss_score']
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        gen = torch.Generator().manual_seed(99)
        torch.manual_seed(5)
        with torch.no_grad():
            results[name] = sum(model.loss(_quadrant_images(64, gen))['loss_score'].item()
                                for _ in range(10)) / 10
    assert results['conditional'] < 0.9 * results['unconditional'], results


# -- time-conditioned encoder -------------------------------------------------------------------
def _manual_resnet_cifar(backbone, x, modulation=None):
    """mmpretrain ResNet_CIFAR's forward written out, with FiLM after every stage."""
    x = backbone.relu(backbone.norm1(backbone.conv1(x)))
    outs = []
    for i, name in enumerate(backbone.res_layers):
        x = getattr(backbone, name)(x)
        if modulation is not None:
            scale, shift = modulation[i]
            x = x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
        outs.append(x)
    return outs[-1]


def test_time_conditioned_encoder_is_film_on_every_stage():
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='mmdiffrep.TimeConditionedEncoder', backbone=TINY_ENCODER,
                            embed_dim=16, probe_size=16)).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        plain = _manual_resnet_cifar(enc.backbone, x)
        assert torch.allclose(enc(x, 0.7)[-1], plain, atol=1e-6)  # zero-init: the backbone
        for layer in enc.film:
            torch.nn.init.normal_(layer.weight, std=0.1)
        t = torch.tensor([0.2, 0.9])
        emb = enc.time_embed(t)
        modulation = [layer(emb).chunk(2, dim=1) for layer in enc.film]
        expected = _manual_resnet_cifar(enc.backbone, x, modulation)
        assert torch.allclose(enc(x, t)[-1], expected, atol=1e-5)
        assert not torch.allclose(enc(x, 0.2)[-1], enc(x, 0.9)[-1])
        # a deep copy (EMA) modulates with its own FiLM layers
        twin = copy.deepcopy(enc)
        for layer in twin.film:
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        assert torch.allclose(twin(x, t)[-1], plain, atol=1e-6)
        assert torch.allclose(enc(x, t)[-1], expected, atol=1e-5)
    with pytest.raises(ValueError, match=r'encoder times must lie in \[0, 1\]'):
        enc(x, 1.5)


def test_time_conditioned_drl_reads_the_code_at_the_sample_time():
    torch.manual_seed(0)
    model = build(encoder=dict(type='mmdiffrep.TimeConditionedEncoder', backbone=TINY_ENCODER,
                               probe_size=16))
    for layer in model.encoder.film:
        torch.nn.init.normal_(layer.weight, std=0.1)
    seen = []
    model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[1]))
    x0 = torch.randn(4, 3, 16, 16)
    torch.manual_seed(3)
    model.loss(x0)
    torch.manual_seed(3)
    t = 1e-5 + (1 - 1e-5) * torch.rand(4)
    assert torch.equal(seen[0], t)
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    assert not torch.allclose(model.extract_codes(x, 0.1), model.extract_codes(x, 0.8))
    with pytest.raises(ValueError, match='not time-conditioned'):
        build().extract_codes(x, 0.5)


# -- export -------------------------------------------------------------------------------------
@pytest.mark.parametrize('encoder,target', [
    (TINY_ENCODER, TINY_ENCODER),
    (dict(type='mmseg.ResNetV1c', depth=18), dict(type='mmseg.ResNetV1c', depth=18)),
    (dict(type='mmpose.ResNet', depth=18), dict(type='mmpose.ResNet', depth=18)),
    (dict(type='mmdiffrep.TimeConditionedEncoder', backbone=TINY_ENCODER, probe_size=16),
     dict(type='mmdiffrep.TimeConditionedEncoder', backbone=TINY_ENCODER, probe_size=16,
          t=0.5)),
], ids=['mmpretrain', 'mmseg', 'mmpose', 'time-conditioned'])
def test_exported_encoder_loads_into_toolbox_backbones(tmp_path, repo_root, encoder, target):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    import export_backbone
    torch.manual_seed(0)
    model = build(encoder=encoder, code_dim=8)
    ckpt = tmp_path / 'drl.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=5)), ckpt)
    export_backbone.main([str(ckpt), str(tmp_path / 'encoder.pth')])
    out = torch.load(tmp_path / 'encoder.pth', map_location='cpu')
    assert out['meta']['export']['prefix'] == 'encoder.'
    backbone = MODELS.build(dict(target, init_cfg=dict(type='Pretrained',
                                                       checkpoint=str(tmp_path / 'encoder.pth'))))
    backbone.init_weights()
    # strict: no missing and no unexpected keys
    load_checkpoint(backbone, str(tmp_path / 'encoder.pth'), strict=True, logger='silent')
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(backbone.state_dict()[k], v), k
    assert not any(k.startswith(('code_head', 'unet')) for k in out['state_dict'])


def test_export_of_ema_weights(tmp_path, repo_root):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    import export_backbone
    model = build()
    ema = {f'module.{k}': v + 1 for k, v in model.state_dict().items()}  # EMAHook's layout
    ema['steps'] = torch.tensor(3)
    state, prefix = export_backbone.extract(dict(state_dict=model.state_dict(),
                                                 ema_state_dict=ema), ema=True)
    assert prefix == 'encoder.'
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(state[k], v + 1), k
    with pytest.raises(KeyError, match='no ema_state_dict'):
        export_backbone.extract(dict(state_dict=model.state_dict()), ema=True)


# -- bad input ----------------------------------------------------------------------------------
def test_bad_input_is_a_clear_error():
    vit = dict(type='mmpretrain.VisionTransformer', arch=dict(
        embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32), img_size=16,
        patch_size=8, out_type='raw')
    with pytest.raises(ValueError, match=r'encoder output has shape \(1, 5, 16\)'):
        build(encoder=vit)
    with pytest.raises(ValueError,
                       match=r"unsupported SDE .noise process. 'subvp'; expected one of \['ve', "):
        build(sde='subvp')
    with pytest.raises(ValueError, match='sigma_min=50.*sigma_max=0.01.*inverted'):
        build(sde=dict(type='ve', sigma_min=50, sigma_max=0.01))
    with pytest.raises(ValueError, match='t_min=0.8, t_max=0.2'):
        build(t_sampling=dict(type='uniform_t', t_min=0.8, t_max=0.2))
    with pytest.raises(ValueError, match="unknown t_sampling type 'log'"):
        build(t_sampling=dict(type='log'))
    with pytest.raises(ValueError, match="unknown regularizer 'l2'"):
        build(regularizer='l2')
    with pytest.raises(ValueError, match=r"unknown conditioning \['crossattn'\]"):
        build(conditioning=('crossattn', ))
    with pytest.raises(ValueError, match='unet_cfg.class_embed_type is set by DRL'):
        build(unet_cfg=dict(TINY_UNET, class_embed_type='timestep'))
    with pytest.raises(ValueError, match='score_weight=0 needs a decoder'):
        build(score_weight=0, unet_cfg=None)
    with pytest.raises(ValueError, match=r'image size \(17, 17\) .* multiples of 2'):
        build().loss(torch.randn(1, 3, 17, 17))
    with pytest.raises(ValueError, match="unknown loss_weighting 'snr'"):
        build(loss_weighting='snr')
    with pytest.raises(ValueError, match=r'maps 0-255 pixels to \[-1, 1\]'):
        build(data_preprocessor=None)


# -- through tools/train.py and the probe tool ---------------------------------------------------
def test_shapes_config_trains_and_its_code_is_probed(tmp_path, repo_root, shapes_root,
                                                     train_cli):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'analysis'))
    import probe_codes
    base = osp.join(repo_root, 'configs', 'drl', 'drl-tc_resnet18-cifar_1xb64-600it_shapes-32x32.py')
    cfg = tmp_path / 'drl_tiny.py'
    cfg.write_text(
        f"_base_ = ['{base}']\n"
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root='{shapes_root}'))\n"
        "train_cfg = dict(max_iters=3)\n"
        "default_hooks = dict(checkpoint=dict(interval=3), logger=dict(interval=1))\n")
    work = tmp_path / 'work'
    log = train_cli(cfg, '--work-dir', str(work))
    assert 'loss_score' in log and 'loss_l1' in log
    out = tmp_path / 'probe'
    probe_codes.main([str(cfg), str(work / 'iter_3.pth'), '--data', shapes_root, '--times',
                      '0', '1', '--k', '5', '--save-codes', '--out-dir', str(out)])
    result = json.loads((out / 'probe_codes.json').read_text())
    assert [r['t'] for r in result['rows']] == [0.0, 1.0]
    assert all(0 <= r['linear'] <= 100 and 0 <= r['knn'] <= 100 for r in result['rows'])
    assert (out / 'probe_vs_t.png').stat().st_size > 1000
    codes = np.load(out / 'codes.npz')
    assert codes['train_codes_0'].shape == (result['train'], 128)
    # the probe is scored on codes the tool extracted with the model's own normalisation
    model = probe_codes.build_model(str(cfg), str(work / 'iter_3.pth'))
    from mmdiffrep.datasets import read_cls_split
    images, _ = read_cls_split(shapes_root, 'annotations/cls_test.txt', 'images/test')
    direct = model.extract_codes(images[:4] / 127.5 - 1, 1.0)
    assert np.allclose(codes['eval_codes_1'][:4], direct.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match='--times needs a time-conditioned encoder'):
        probe_codes.main([osp.join(repo_root, 'configs', 'drl',
                                   'drl_resnet18-cifar_1xb64-600it_shapes-32x32.py'),
                          '--data', shapes_root, '--times', '0.5', '--out-dir', str(out)])


def test_every_shapes_config_builds_and_computes_a_loss(repo_root):
    from mmengine.config import Config
    import glob
    for path in sorted(glob.glob(osp.join(repo_root, 'configs', 'drl', '*shapes-32x32.py'))):
        cfg = Config.fromfile(path)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        losses = model.loss(torch.rand(2, 3, 32, 32) * 2 - 1)
        assert any('loss' in k for k in losses), path
        assert all(torch.isfinite(v) for v in losses.values()), path
