"""DiffusionUNet and the shared feature extractor against plain diffusers forwards with hooks."""
import pytest
import torch
from diffusers import DDPMScheduler, UNet2DConditionModel, UNet2DModel

from mmdiffrep.diffusion import UNetFeatureExtractor, block_names, load_unet
from mmdiffrep.models.backbones import DiffusionUNet
from mmdiffrep.models.conditions import NullContext

UNET_CFG = dict(
    type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
    block_out_channels=(16, 32, 32), layers_per_block=1, norm_num_groups=8,
    down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'))
COND_CFG = dict(
    type='UNet2DConditionModel', sample_size=16, in_channels=4, out_channels=4,
    block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, cross_attention_dim=24,
    attention_head_dim=4, down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'))


def tiny_unet(cfg=UNET_CFG, seed=0):
    torch.manual_seed(seed)
    kwargs = dict(cfg)
    cls = {'UNet2DModel': UNet2DModel, 'UNet2DConditionModel': UNet2DConditionModel}[
        kwargs.pop('type')]
    return cls(**kwargs).eval()


def hooked_forward(unet, modules, x, t, **kw):
    """The independent reference: a full diffusers forward with plain forward hooks."""
    store = {}
    handles = [m.register_forward_hook(
        lambda mod, a, o, n=n: store.__setitem__(n, o[0] if isinstance(o, tuple) else o))
        for n, m in modules.items()]
    with torch.no_grad():
        unet(x, t, **kw)
    for h in handles:
        h.remove()
    return store


def test_block_features_equal_hooked_diffusers_forward():
    unet = tiny_unet()
    x = torch.randn(2, 3, 32, 32)
    ref = hooked_forward(unet, {
        'down.1': unet.down_blocks[1], 'mid': unet.mid_block,
        'up.1.pre': unet.up_blocks[1].attentions[-1], 'up.1': unet.up_blocks[1],
        'up.0.resnets.1': unet.up_blocks[0].resnets[1]}, x, torch.tensor([7, 7]))
    ext = UNetFeatureExtractor(unet, ['up.1', 'down.1', 'mid', 'up.1.pre', 'up.0.resnets.1'], 7,
                               DDPMScheduler())
    with torch.no_grad():
        feats = ext(x)
    for name, ref_feat in ref.items():
        assert torch.equal(feats[name][0], ref_feat), name
    # up.1 is after the upsampler, up.1.pre before it
    assert feats['up.1'].shape[-1] == 2 * feats['up.1.pre'].shape[-1]


def test_conditional_unet_with_null_embedding():
    unet = tiny_unet(COND_CFG)
    x = torch.randn(2, 4, 16, 16)
    ctx = torch.zeros(2, 1, 24)
    ref = hooked_forward(unet, {'up.1.attentions.0': unet.up_blocks[1].attentions[0]}, x,
                         torch.tensor([3, 3]), encoder_hidden_states=ctx)
    cond = NullContext()
    cond.attach(unet, unet_trains=False)  # zeros (1, cross_attention_dim), as ctx
    ext = UNetFeatureExtractor(unet, ['up.1.attentions.0'], 3, DDPMScheduler(), condition=cond)
    with torch.no_grad():
        assert torch.equal(ext(x)['up.1.attentions.0'][0], ref['up.1.attentions.0'])


def test_early_exit_equals_full_forward_and_skips_later_blocks():
    unet = tiny_unet()
    x = torch.randn(1, 3, 32, 32)
    calls = []
    unet.up_blocks[2].register_forward_hook(lambda *a: calls.append('up.2'))
    early = UNetFeatureExtractor(unet, ['down.1', 'up.0'], 5, DDPMScheduler())
    full = UNetFeatureExtractor(unet, ['down.1', 'up.0'], 5, DDPMScheduler(), early_exit=False)
    calls.clear()
    with torch.no_grad():
        a, b = early(x), full(x)
    assert calls == ['up.2']  # only the full forward reached the last up block
    for k in a:
        assert torch.equal(a[k], b[k])


@pytest.mark.parametrize('noise,rows', [('none', None), ('fixed', None), ('fixed', 3)])
def test_batched_timesteps_equal_separate_calls(noise, rows):
    """Also with the batch split into forwards of at most ``rows`` rows (max_forward_batch)."""
    unet = tiny_unet()
    x = torch.randn(2, 3, 32, 32)
    sch = DDPMScheduler()
    both = UNetFeatureExtractor(unet, ['up.1.pre'], [20, 300], sch, noise=noise,
                                max_forward_batch=rows)
    with torch.no_grad():
        batched = both(x)['up.1.pre']
        for i, t in enumerate([20, 300]):
            single = UNetFeatureExtractor(unet, ['up.1.pre'], t, sch, noise=noise)(x)['up.1.pre']
            torch.testing.assert_close(batched[i], single[0], atol=1e-5, rtol=1e-5)


def test_fixed_noise_matches_closed_form_and_ensemble_average():
    unet = tiny_unet()
    sch = DDPMScheduler()
    x = torch.randn(2, 3, 32, 32)
    ext = UNetFeatureExtractor(unet, ['down.0'], 100, sch, noise='fixed', ensemble=2,
                               noise_seed=3)
    x_t, t = ext.noisy_input(x)
    eps = torch.randn((2, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    abar = sch.alphas_cumprod[100]
    for k in range(2):  # batch layout (T, K, B); noise shared across the batch
        expect = abar.sqrt() * x + (1 - abar).sqrt() * eps[k]
        torch.testing.assert_close(x_t[2 * k:2 * k + 2], expect, atol=1e-6, rtol=1e-6)
    assert torch.equal(t, torch.full((4, ), 100))
    with torch.no_grad():
        feats = ext(x)['down.0'][0]
        ref = [hooked_forward(unet, {'d': unet.down_blocks[0]}, x_t[2 * k:2 * k + 2],
                              t[:2])['d'] for k in range(2)]
    torch.testing.assert_close(feats, (ref[0] + ref[1]) / 2, atol=1e-6, rtol=1e-6)


def test_fixed_noise_identical_across_calls_and_after_save_load(tmp_path):
    unet = tiny_unet()
    unet.save_pretrained(tmp_path / 'unet')
    kw = dict(blocks=['up.1.pre'], timesteps=[50, 250], noise='fixed', noise_seed=1)
    a = DiffusionUNet(pretrained=str(tmp_path / 'unet'), **kw)
    b = DiffusionUNet(pretrained=str(tmp_path / 'unet'), **kw)
    x = torch.randn(2, 3, 32, 32)
    first, second, reloaded = a(x), a(x), b(x)
    assert torch.equal(first[0], second[0]) and torch.equal(first[0], reloaded[0])
    r = DiffusionUNet(pretrained=str(tmp_path / 'unet'), **dict(kw, noise='random'))
    assert not torch.equal(r(x)[0], r(x)[0])


def test_backbone_input_contract_padding_and_geometry():
    unet = tiny_unet()
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    bb = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.1', 'up.1.pre'], timesteps=[0, 9],
                       data_mean=mean, data_std=std, combine='concat')
    bb.unet.load_state_dict(unet.state_dict(), strict=False)
    assert bb.out_channels == [64, 64] and bb.strides == [4, 2]
    pixels = torch.rand(1, 3, 30, 27) * 255
    normed = (pixels - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(bb.to_unet_range(normed), pixels / 127.5 - 1)
    outs = bb(normed)
    assert [tuple(o.shape) for o in outs] == [(1, 64, 8, 7), (1, 64, 15, 14)]
    # the cropped map equals the top-left of the features of the replicate-padded image
    padded = torch.nn.functional.pad(pixels / 127.5 - 1, (0, 1, 0, 2), mode='replicate')
    ref = hooked_forward(unet, {'d': unet.down_blocks[1]}, padded, torch.tensor([0]))['d']
    torch.testing.assert_close(outs[0][:, :32], ref[..., :8, :7])


def test_frozen_backbone_not_trainable_not_in_optimizer_and_checkpoint(tmp_path):
    unet = tiny_unet()
    unet.save_pretrained(tmp_path / 'unet')
    bb = DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['up.0'], timesteps=1)
    assert list(bb.parameters()) == []  # nothing for an optimizer or DDP
    assert bb.state_dict() == {} or all(not k.startswith('unet.') for k in bb.state_dict())
    bb.train()
    assert not bb.unet.training
    kept = DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['up.0'], timesteps=1,
                         save_unet_weights=True)
    assert any(k.startswith('unet.') for k in kept.state_dict())
    trainable = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['up.0'], timesteps=1, frozen=False)
    assert trainable.unet.training is True and len(list(trainable.parameters())) > 0
    trainable(torch.randn(1, 3, 32, 32))[0].mean().backward()
    assert trainable.unet.down_blocks[0].resnets[0].conv1.weight.grad is not None


def test_unknown_block_lists_valid_names():
    unet = tiny_unet()
    with pytest.raises(KeyError, match=r"unknown U-Net block 'up\.9'.*'up\.1\.pre'"):
        UNetFeatureExtractor(unet, ['up.9'], 1, DDPMScheduler())
    assert 'up.1.attentions.1' in block_names(unet)


@pytest.mark.parametrize('timesteps', [1000, -1, [5, 2000], 2.5])
def test_timestep_out_of_range(timesteps):
    with pytest.raises(ValueError, match=r'out of range.*\[0, 1000\)'):
        UNetFeatureExtractor(tiny_unet(), ['down.0'], timesteps, DDPMScheduler())


def test_bad_inputs_are_clear_errors(tmp_path):
    bb = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.0'], timesteps=1)
    with pytest.raises(ValueError, match=r'expects N x 3 x H x W inputs, got shape \(1, 1, 32'):
        bb(torch.randn(1, 1, 32, 32))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_unet(str(tmp_path / 'no_such_unet'))
    with pytest.raises(ValueError, match='unet_cfg'):
        load_unet(None, None)
    with pytest.raises(ValueError, match="noise mode 'gaussian'"):
        DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.0'], noise='gaussian')
    with pytest.raises(ValueError, match='data_mean / data_std need 3 values'):
        DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.0'], data_mean=[0.0], data_std=[1.0])


def test_frozen_stages_of_a_trainable_unet():
    bb = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['up.1.pre'], timesteps=1, frozen=False,
                       frozen_stages=1)
    bb.train()
    assert not bb.unet.down_blocks[0].training and bb.unet.down_blocks[1].training
    bb(torch.randn(1, 3, 32, 32))[0].mean().backward()
    assert bb.unet.conv_in.weight.grad is None
    assert all(p.grad is None for p in bb.unet.down_blocks[0].parameters())
    assert bb.unet.down_blocks[1].resnets[0].conv1.weight.grad is not None
    with pytest.raises(ValueError, match='trainable U-Net'):
        DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.0'], frozen_stages=1)


def test_bf16_weights_for_a_frozen_unet():
    ref = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.1'], timesteps=3)
    low = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['down.1'], timesteps=3,
                        weights_dtype='bfloat16')
    low.unet.load_state_dict({k: v.bfloat16() for k, v in ref.unet.state_dict().items()})
    x = torch.randn(2, 3, 32, 32)
    a, b = ref(x)[0], low(x)[0]
    assert b.dtype == torch.float32 and next(low.unet.parameters()).dtype == torch.bfloat16
    assert (a - b).abs().mean() < 0.05 * a.abs().mean()


VAE_CFG = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
               down_block_types=('DownEncoderBlock2D', ) * 2,
               up_block_types=('UpDecoderBlock2D', ) * 2, norm_num_groups=4,
               scaling_factor=0.5)


def test_latent_unet_with_vae_equals_encode_then_hooked_forward(tmp_path):
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    vae = AutoencoderKL(**VAE_CFG).eval()
    vae.save_pretrained(tmp_path / 'vae')
    unet = tiny_unet(COND_CFG)
    unet.save_pretrained(tmp_path / 'unet')
    bb = DiffusionUNet(pretrained=str(tmp_path / 'unet'), vae=dict(pretrained=str(tmp_path /
                                                                                    'vae')),
                       blocks=['down.0', 'up.1.attentions.0'], timesteps=[4],
                       condition=dict(type='mmdiffrep.NullContext', shape=(2, 24)))
    # strides are image-relative: latent stride x 2 (the VAE downsamples once)
    assert bb.strides == [4, 2] and bb.in_channels == 3
    assert list(bb.parameters()) == []  # VAE and U-Net hidden and frozen, context fixed
    x = torch.rand(2, 3, 32, 32) * 2 - 1  # already in [-1, 1] with mean 127.5 / std 127.5
    outs = bb(x)
    with torch.no_grad():
        z = vae.encode(x).latent_dist.mean * 0.5
    ref = hooked_forward(unet, {'d': unet.down_blocks[0], 'a': unet.up_blocks[1].attentions[0]},
                         z, torch.tensor([4, 4]), encoder_hidden_states=torch.zeros(2, 2, 24))
    # (x -> 0-255 -> [-1, 1] round trip: equal up to float rounding)
    torch.testing.assert_close(outs[0], ref['d'], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(outs[1], ref['a'], atol=1e-5, rtol=1e-5)
    assert outs[0].shape[-1] == 32 // 4
    with pytest.raises(ValueError, match='VAE gives 4 latent channels but the U-Net takes 3'):
        DiffusionUNet(unet_cfg=UNET_CFG, vae=dict(cfg=VAE_CFG), blocks=['down.0'])


def test_cached_prompt_embedding_conditions_the_unet(tmp_path):
    unet = tiny_unet(COND_CFG)
    unet.save_pretrained(tmp_path / 'unet')
    embeds = torch.randn(3, 24)
    torch.save(dict(text='a photo of a star', embeds=embeds), tmp_path / 'prompt.pt')
    bb = DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['up.1.attentions.0'],
                       timesteps=2, data_mean=[127.5] * 4, data_std=[127.5] * 4,
                       condition=dict(type='mmdiffrep.PromptEmbedding', text='a photo of a star',
                                      cache=str(tmp_path / 'prompt.pt')))
    x = torch.rand(2, 4, 16, 16) * 2 - 1
    ref = hooked_forward(unet, {'a': unet.up_blocks[1].attentions[0]}, x, torch.tensor([2, 2]),
                         encoder_hidden_states=embeds[None].expand(2, -1, -1))
    torch.testing.assert_close(bb(x)[0], ref['a'], atol=1e-5, rtol=1e-5)
    assert 'condition.context' not in bb.state_dict()
    with pytest.raises(ValueError, match="holds the embedding of 'a photo of a star'"):
        DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['down.0'],
                      data_mean=[127.5] * 4, data_std=[127.5] * 4,
                      condition=dict(type='mmdiffrep.PromptEmbedding', text='',
                                     cache=str(tmp_path / 'prompt.pt')))
    with pytest.raises(FileNotFoundError, match='no `pretrained` text encoder'):
        DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['down.0'],
                      data_mean=[127.5] * 4, data_std=[127.5] * 4,
                      condition=dict(type='mmdiffrep.PromptEmbedding', text='',
                                     cache=str(tmp_path / 'missing.pt')))


def test_per_class_prompts_and_learnable_condition(tmp_path):
    """VPD-style: one context token per class prompt, tuned while the U-Net stays frozen."""
    unet = tiny_unet(COND_CFG)
    unet.save_pretrained(tmp_path / 'unet')
    classes = ['a photo of a circle', 'a photo of a star', 'a photo of a cross']
    embeds = torch.randn(3, 24)
    torch.save(dict(text=classes, embeds=embeds), tmp_path / 'classes.pt')
    kw = dict(pretrained=str(tmp_path / 'unet'), blocks=['up.1.attentions.0'], timesteps=2,
              data_mean=[127.5] * 4, data_std=[127.5] * 4,
              condition=dict(type='mmdiffrep.PromptEmbedding', text=classes,
                             cache=str(tmp_path / 'classes.pt')))
    bb = DiffusionUNet(**dict(kw, condition=dict(kw['condition'], learnable=True)))
    assert list(bb.parameters()) == [bb.condition.context]  # U-Net hidden, context trainable
    x = torch.rand(2, 4, 16, 16) * 2 - 1
    ref = hooked_forward(unet, {'a': unet.up_blocks[1].attentions[0]}, x, torch.tensor([2, 2]),
                         encoder_hidden_states=embeds[None].expand(2, -1, -1))
    out = bb(x)[0]
    torch.testing.assert_close(out, ref['a'], atol=1e-5, rtol=1e-5)
    out.square().mean().backward()
    grad = bb.condition.context.grad
    assert grad is not None and grad.abs().sum() > 0
    assert all(p.grad is None for p in bb.unet.parameters())
    assert 'condition.context' in bb.state_dict()  # the tuned context is saved
    # not learnable: a buffer, no parameters at all
    assert list(DiffusionUNet(**kw).parameters()) == []
    with pytest.raises(ValueError, match='holds the embedding of'):  # other prompts
        DiffusionUNet(**dict(kw, condition=dict(type='mmdiffrep.PromptEmbedding', text=classes[:2],
                                                cache=str(tmp_path / 'classes.pt'))))
    torch.save(embeds, tmp_path / 'bare.pt')  # a bare tensor: only its size can be checked
    with pytest.raises(ValueError, match='holds 3 embeddings for 2 prompts'):
        DiffusionUNet(**dict(kw, condition=dict(type='mmdiffrep.PromptEmbedding', text=classes[:2],
                                                cache=str(tmp_path / 'bare.pt'))))


def test_class_label_fixed_and_learnable(tmp_path):
    unet = tiny_unet(dict(UNET_CFG, num_class_embeds=6))
    unet.save_pretrained(tmp_path / 'unet')
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    ref = hooked_forward(unet, {'m': unet.mid_block}, x, torch.tensor([5, 5]),
                         class_labels=torch.tensor([4, 4]))
    kw = dict(pretrained=str(tmp_path / 'unet'), blocks=['mid'], timesteps=5)
    fixed = DiffusionUNet(condition=dict(type='mmdiffrep.ClassLabel', label=4), **kw)
    torch.testing.assert_close(fixed(x)[0], ref['m'], atol=1e-5, rtol=1e-5)
    bb = DiffusionUNet(condition=dict(type='mmdiffrep.ClassLabel', learnable=True), **kw)
    assert list(bb.parameters()) == [bb.condition.embedding]
    # starts at the mean class embedding
    torch.testing.assert_close(bb.condition.embedding.detach(), unet.class_embedding.weight.mean(0))
    with torch.no_grad():  # set to class 4's embedding: must give the features of label 4
        bb.condition.embedding.copy_(unet.class_embedding.weight[4])
    out = bb(x)[0]
    torch.testing.assert_close(out, ref['m'], atol=1e-5, rtol=1e-5)
    out.mean().backward()
    assert bb.condition.embedding.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r'must be an int in \[0, 6\)'):
        DiffusionUNet(condition=dict(type='mmdiffrep.ClassLabel', label=6), **kw)
    with pytest.raises(ValueError, match='needs a class-conditional U-Net'):
        DiffusionUNet(unet_cfg=UNET_CFG, blocks=['mid'],
                      condition=dict(type='mmdiffrep.ClassLabel', label=0))
    # the old spelling names the new one
    with pytest.raises(TypeError, match="condition=dict.type='mmdiffrep.ClassLabel'"):
        DiffusionUNet(class_label=4, **kw)


def test_learnable_class_condition_of_an_ema_copy_uses_its_own_weights(tmp_path):
    """Regression: the learnable class embedding was injected by a lambda capturing the
    original backbone, so an EMA copy (a deep copy) ran the original's embedding."""
    from mmengine.model import ExponentialMovingAverage
    unet = tiny_unet(dict(UNET_CFG, num_class_embeds=6))
    unet.save_pretrained(tmp_path / 'unet')
    bb = DiffusionUNet(pretrained=str(tmp_path / 'unet'), blocks=['mid'], timesteps=5,
                       condition=dict(type='mmdiffrep.ClassLabel', learnable=True))
    ema = ExponentialMovingAverage(bb, momentum=0.5)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = ema.module(x)[0].clone()
        bb.condition.embedding.copy_(unet.class_embedding.weight[4])  # only the original
        torch.testing.assert_close(ema.module(x)[0], before)  # the copy is unchanged
        assert not torch.allclose(bb(x)[0], before)
        ema.module.condition.embedding.copy_(unet.class_embedding.weight[4])
        torch.testing.assert_close(ema.module(x)[0], bb(x)[0])


def test_per_image_timesteps_equal_separate_calls_and_are_checked():
    # keep the whole U-Net so that the reference can run its full forward
    bb = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['mid'], timesteps=0, drop_unused=False)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mixed = bb(x, timesteps=torch.tensor([3, 700]))[0]
    for i, t in enumerate((3, 700)):
        ref = hooked_forward(bb.unet, {'m': bb.unet.mid_block}, x[i:i + 1], torch.tensor([t]))
        torch.testing.assert_close(mixed[i:i + 1], ref['m'], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r'timesteps \[0, 1000\] out of range \[0, 1000\)'):
        bb(x, timesteps=torch.tensor([0, 1000]))
    with pytest.raises(ValueError, match='1-D integer tensor'):
        bb(x, timesteps=torch.tensor([0.5, 1.0]))


def test_scheduler_cfg_speaks_the_package_schedule_names():
    """'cosine' means the same schedule in DiffusionUNet(scheduler_cfg=...) as in DDPM / DRL
    (it used to be passed raw to diffusers, where it is unknown)."""
    from mmdiffrep.diffusion import load_scheduler
    from mmdiffrep.diffusion.noise_processes import VPSDE
    sched = load_scheduler(None, dict(beta_schedule='cosine', num_train_timesteps=1000))
    torch.testing.assert_close(sched.alphas_cumprod,
                               VPSDE(1000, 'cosine').scheduler.alphas_cumprod)
    bb = DiffusionUNet(unet_cfg=UNET_CFG, blocks=['mid'], timesteps=3,
                       scheduler_cfg=dict(beta_schedule='cosine'))
    assert bb.extractor.scheduler.config.beta_schedule == 'squaredcos_cap_v2'
    with pytest.raises(ValueError, match="unknown beta_schedule 'cosin'"):
        load_scheduler(None, dict(beta_schedule='cosin'))


def test_a_corrupt_checkpoint_is_an_error_that_names_the_file(tmp_path):
    """Regression: torch's error named no file (and for random bytes suggested
    weights_only=False)."""
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(b'PK\x03\x04 not a whole checkpoint')
    with pytest.raises(RuntimeError, match=r"cannot load the checkpoint '.*truncated\.pth'"):
        DiffusionUNet(pretrained=str(bad), unet_cfg=UNET_CFG, blocks=['mid'])


@pytest.mark.parametrize('noise', ['none', 'fixed'])
def test_feature_cache_reuses_features_exactly_and_refuses_stale_ones(noise):
    """Cached features equal the uncached backbone's for a re-ordered, re-batched second
    epoch, which is served from the cache; random noise or a trainable U-Net is refused;
    inputs that never repeat are reported."""
    torch.manual_seed(0)
    kw = dict(unet_cfg=UNET_CFG, blocks=['down.1', 'mid'], timesteps=[3, 50], noise=noise)
    plain, cached = DiffusionUNet(**kw), DiffusionUNet(cache_features=True, **kw)
    cached.extractor.unet.load_state_dict(plain.extractor.unet.state_dict())
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ref = plain(x)
        first = cached(x[:4]) + cached(x[4:])
        assert cached.feature_cache.misses == 6 and cached.feature_cache.hits == 0
        order = torch.tensor([5, 2, 0, 3, 1, 4])
        again = cached(x[order])  # epoch 2: other order, one batch
    assert cached.feature_cache.hits == 6 and cached.feature_cache.misses == 6
    for r, a in zip(ref, again):
        torch.testing.assert_close(a, r[order], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.cat([first[0], first[2]]), ref[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="noise='random' draws new noise"):
        DiffusionUNet(cache_features=True, **dict(kw, noise='random'))
    with pytest.raises(ValueError, match=r'the U-Net trains \(frozen=False\)'):
        DiffusionUNet(cache_features=True, frozen=False, **kw)
    cached.feature_cache.report_every = 6
    with torch.no_grad():  # random augmentation: never a hit, said once
        for _ in range(3):
            cached(torch.rand(6, 3, 32, 32) * 2 - 1)
    assert cached.feature_cache._warned


def test_bf16_autocast_features_are_close_to_fp32_and_bad_dtypes_are_refused():
    torch.manual_seed(0)
    kw = dict(unet_cfg=UNET_CFG, blocks=['mid'], timesteps=5)
    ref = DiffusionUNet(**kw)
    amp = DiffusionUNet(autocast='bfloat16', **kw)
    amp.extractor.unet.load_state_dict(ref.extractor.unet.state_dict())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a, r = amp(x)[0], ref(x)[0]
    assert a.dtype == torch.float32
    assert (a - r).norm() <= 0.05 * r.norm()  # bf16 has 8 mantissa bits
    with pytest.raises(ValueError, match=r"autocast='bf16' must be one of \('float16', 'bfloat16'\)"):
        DiffusionUNet(autocast='bf16', **kw)
    with pytest.raises(ValueError, match="a frozen U-Net's forward precision"):
        DiffusionUNet(autocast='bfloat16', frozen=False, **kw)


def test_a_checkpoint_names_the_frozen_unet_it_was_trained_on(tmp_path):
    """Regression: a probe checkpoint (head weights, frozen U-Net not saved) loaded after the
    `pretrained` folder had been replaced gave other accuracies with no warning."""
    from mmengine.model import BaseModel
    from mmengine.runner import load_checkpoint, save_checkpoint

    class Probe(BaseModel):  # a frozen backbone + a trainable head, as any toolbox builds it
        def __init__(self, pretrained, **kw):
            super().__init__()
            self.backbone = DiffusionUNet(pretrained=pretrained, blocks=['mid'], timesteps=[10],
                                          out_type='pooled', **kw)
            self.head = torch.nn.Linear(32, 6)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return self.head(self.backbone(inputs)[0])

    folder = str(tmp_path / 'unet')
    tiny_unet(seed=0).save_pretrained(folder)
    save_checkpoint(Probe(folder).state_dict(), str(tmp_path / 'probe.pth'))
    load_checkpoint(Probe(folder), str(tmp_path / 'probe.pth'))  # same weights: loads
    tiny_unet(seed=1).save_pretrained(folder)  # the folder now holds another U-Net
    with pytest.raises(ValueError, match=r"trained on the features of a frozen U-Net with weights "
                                         r"fingerprint \w+, but the U-Net loaded from '.*unet' has"):
        load_checkpoint(Probe(folder), str(tmp_path / 'probe.pth'))
    # a checkpoint that carries the U-Net weights does not depend on the folder
    save_checkpoint(Probe(folder, save_unet_weights=True).state_dict(), str(tmp_path / 'k.pth'))
    tiny_unet(seed=2).save_pretrained(folder)
    load_checkpoint(Probe(folder, save_unet_weights=True), str(tmp_path / 'k.pth'))
    # a checkpoint from before the fingerprint still loads, strictly
    old = {k: v for k, v in Probe(folder).state_dict().items() if 'fingerprint' not in k}
    Probe(folder).load_state_dict(old, strict=True)
