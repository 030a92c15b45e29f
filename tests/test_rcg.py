"""Representation-conditioned generation (RCG): the conditioned DDPM and the representation
diffusion model."""
import pytest
import torch
import torch.nn.functional as F

import mmdiffrep  # noqa: F401
from mmdiffrep.models.algorithms import sample_two_stage
from mmdiffrep.registry import MODELS

TINY = dict(type='UNet2DModel', sample_size=16, in_channels=3, out_channels=3,
            block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
            down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'))
ENCODER = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8)
COND = dict(type='mmdiffrep.RepresentationConditioner', encoder=ENCODER, probe_size=16)


def rcg_ddpm(**kw):
    return MODELS.build(dict(type='mmdiffrep.DDPM', unet_cfg=TINY,
                             representation=dict(COND, **kw)))


def test_zero_initialised_condition_starts_as_the_unconditional_unet():
    """At initialisation the representation adds nothing: the loss equals the plain DDPM's
    with the same U-Net weights and draws; after one step the projection moves."""
    torch.manual_seed(0)
    model = rcg_ddpm(drop_prob=0.0)
    plain = MODELS.build(dict(type='mmdiffrep.DDPM', unet_cfg=dict(TINY,
                                                                 class_embed_type='identity')))
    plain.unet.load_state_dict(model.unet.state_dict())
    x0 = torch.rand(3, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    loss = model.loss(x0)['loss_diffusion']
    torch.manual_seed(1)
    t = torch.randint(0, 1000, (3, ))
    eps = torch.randn_like(x0)
    ref = F.mse_loss(plain.unet(plain.scheduler.add_noise(x0, eps, t), t,
                                class_labels=torch.zeros(3, 64)).sample, eps)
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)
    loss.backward()
    assert model.representation.proj.weight.grad.abs().sum() > 0
    # the encoder is frozen: not a parameter, not saved
    assert not any('encoder' in n for n, _ in model.named_parameters())
    assert not any('representation.encoder' in k for k in model.state_dict())


def test_dropout_uses_the_null_vector_and_guided_sampling_matches_by_hand():
    from diffusers import DDIMScheduler
    torch.manual_seed(0)
    model = rcg_ddpm(drop_prob=0.999)
    seen = []
    model.unet.class_embedding.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    with torch.no_grad():
        model.representation.proj.weight.normal_()  # make the condition matter
        model.representation.null.normal_()
    model.train()
    model.loss(torch.rand(2, 3, 16, 16) * 2 - 1)
    null_embed = model.representation.embed(None, 2)
    torch.testing.assert_close(seen[-1], null_embed)
    model.eval()
    r = torch.randn(2, model.representation.dim)
    got = model.sample(2, steps=3, representations=r, guidance_scale=2.0,
                       generator=torch.Generator().manual_seed(3))
    sched = DDIMScheduler.from_config(model.scheduler.config)
    sched.set_timesteps(3)
    x = torch.randn((2, 3, 16, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        cond_e = model.representation.embed(r, 2)
        for t in sched.timesteps:
            c = model.unet(x, t, class_labels=cond_e).sample
            u = model.unet(x, t, class_labels=null_embed).sample
            x = sched.step(u + 2.0 * (c - u), t, x).prev_sample
    torch.testing.assert_close(got, x.clamp(-1, 1), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='set by the representation condition'):
        MODELS.build(dict(type='mmdiffrep.DDPM', unet_cfg=dict(TINY, num_class_embeds=3),
                          representation=COND))


def test_representation_diffusion_loss_and_two_stage_sampling():
    torch.manual_seed(0)
    rdm = MODELS.build(dict(type='mmdiffrep.RepresentationDiffusion', encoder=ENCODER,
                            width=32, depth=2, probe_size=16))
    x0 = torch.rand(4, 3, 16, 16) * 2 - 1
    r = rdm(x0)
    assert r.shape == (4, rdm.dim)
    torch.testing.assert_close(r.norm(dim=1), torch.full((4, ), rdm.dim ** 0.5))
    torch.manual_seed(1)
    loss = rdm.loss(x0)['loss_rdm']
    torch.manual_seed(1)
    t = torch.randint(0, 1000, (4, ))
    eps = torch.randn_like(r)
    r_t = rdm.objective.process.scheduler.add_noise(r, eps, t)
    torch.testing.assert_close(loss, F.mse_loss(rdm.denoiser(r_t, t), eps), rtol=1e-5,
                               atol=1e-6)
    ddpm = rcg_ddpm()
    ddpm.eval()
    images = sample_two_stage(rdm, ddpm, 2, steps=2, guidance_scale=1.5,
                              generator=torch.Generator().manual_seed(0))
    assert images.shape == (2, 3, 16, 16) and images.abs().max() <= 1
