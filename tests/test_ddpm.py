"""DDPM training model, its noising, export to diffusers and back."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from mmdiffrep.models.algorithms import DDPM

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                            'model_converters'))
import ddpm_to_diffusers  # noqa: E402

TINY = dict(type='UNet2DModel', sample_size=16, block_out_channels=(16, 32), layers_per_block=1,
            norm_num_groups=8, down_block_types=('DownBlock2D', 'AttnDownBlock2D'),
            up_block_types=('AttnUpBlock2D', 'UpBlock2D'))


def test_noising_matches_the_closed_form():
    model = DDPM(TINY, beta_schedule='linear')
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)  # DDPM's linear schedule
    abar = np.cumprod(1 - betas)
    x, eps = torch.randn(3, 3, 16, 16), torch.randn(3, 3, 16, 16)
    t = torch.tensor([0, 500, 999])
    x_t = model.scheduler.add_noise(x, eps, t)
    a = torch.tensor(abar[t.numpy()], dtype=torch.float32).view(3, 1, 1, 1)
    torch.testing.assert_close(x_t, a.sqrt() * x + (1 - a).sqrt() * eps, atol=1e-5, rtol=1e-5)
    cos = DDPM(TINY, beta_schedule='cosine').scheduler.alphas_cumprod
    assert cos[0] > 0.999 and cos[-1] < 1e-3  # squaredcos_cap_v2


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
def test_loss_decreases_on_shapes(shapes_root, prediction_type):
    from PIL import Image
    files = sorted(osp.join(shapes_root, 'images', 'train', f'{i:05d}.png') for i in range(32))
    x = torch.stack([torch.from_numpy(np.array(Image.open(f))).permute(2, 0, 1) for f in files])
    x = torch.nn.functional.interpolate(x.float() / 127.5 - 1, size=16, mode='area')
    torch.manual_seed(0)
    model = DDPM(TINY, prediction_type=prediction_type, loss_weighting='min_snr')
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(40):
        loss = model.loss(x)['loss_diffusion']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:5])


def test_sampling_shape_and_range():
    model = DDPM(TINY).eval()
    out = model.sample(2, steps=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 16, 16) and out.abs().max() <= 1


def test_export_import_round_trip(tmp_path):
    torch.manual_seed(0)
    model = DDPM(TINY)
    ema = {f'module.{k}': v + 0.01 for k, v in model.state_dict().items()}  # EMAHook layout
    ckpt = tmp_path / 'iter_10.pth'
    torch.save(dict(state_dict=model.state_dict(), ema_state_dict=dict(ema, steps=10),
                    meta=dict(iter=10)), ckpt)
    cfg_file = tmp_path / 'ddpm.py'
    cfg_file.write_text(f'model = dict(type="mmdiffrep.DDPM", unet_cfg={TINY!r})')
    out = tmp_path / 'diffusers'
    ddpm_to_diffusers.main([str(cfg_file), str(ckpt), str(out)])
    from diffusers import DDPMScheduler, UNet2DModel
    unet = UNet2DModel.from_pretrained(out / 'unet')
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([3, 700])
    with torch.no_grad():
        shifted = DDPM(TINY)
        shifted.load_state_dict({k[len('module.'):]: v for k, v in ema.items()})
        torch.testing.assert_close(unet(x, t).sample, shifted.unet(x, t).sample)  # EMA weights
    assert DDPMScheduler.from_pretrained(out / 'scheduler').config.num_train_timesteps == 1000
    # and back into a DDPM training model
    back = tmp_path / 'back.pth'
    ddpm_to_diffusers.main([str(cfg_file), str(out / 'unet'), str(back), '--reverse'])
    again = DDPM(TINY)
    again.load_state_dict(torch.load(back)['state_dict'])
    exported = unet.state_dict()
    assert all(torch.equal(v, exported[k]) for k, v in again.unet.state_dict().items())
    with torch.no_grad():  # same weights; outputs equal up to CPU kernel non-determinism
        torch.testing.assert_close(again.unet(x, t).sample, unet(x, t).sample, atol=1e-6,
                                   rtol=1e-6)
    # DiffusionUNet reads the exported pipeline folder (U-Net + its scheduler)
    from mmdiffrep.models.backbones import DiffusionUNet
    bb = DiffusionUNet(pretrained=str(out), subfolder='unet', blocks=['down.1'], timesteps=5)
    assert len(bb(torch.randn(1, 3, 16, 16))) == 1


@pytest.mark.parametrize('kwargs,match', [
    (dict(beta_schedule='sigmoid'), "unknown beta_schedule 'sigmoid'"),
    (dict(prediction_type='noise'), "unknown prediction_type 'noise'"),
    (dict(loss_weighting='p2'), "unknown loss_weighting 'p2'"),
])
def test_bad_config_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDPM(TINY, **kwargs)


def test_unsupported_image_size_and_missing_labels():
    with pytest.raises(ValueError,
                       match=r'image size \(17, 17\) is not supported.*multiples of 2'):
        DDPM(TINY).loss(torch.randn(1, 3, 17, 17))
    cond = DDPM(dict(TINY, num_class_embeds=6))
    with pytest.raises(ValueError, match='needs class labels'):
        cond.loss(torch.randn(1, 3, 16, 16), None)


def test_out_of_range_labels_and_unnormalised_pixels_are_clear_errors():
    """Regression: a label >= num_class_embeds gave a bare IndexError from the embedding, and
    0-255 pixels (a preprocessor without mean / std) trained silently."""
    from mmpretrain.structures import DataSample
    cond = DDPM(dict(TINY, num_class_embeds=6))
    samples = [DataSample().set_gt_label(y) for y in (2, 6)]
    with pytest.raises(ValueError, match=r'labels \[6\] are outside \[0, 6\)'):
        cond.loss(torch.rand(2, 3, 16, 16) * 2 - 1, samples)
    with pytest.raises(ValueError, match=r'inputs span \[0.*, 2.*must map images to \[-1, 1\]'):
        DDPM(TINY).loss(torch.rand(2, 3, 16, 16) * 255)


def tiny_ddpm_config(path, repo_root, shapes_root, workers, iters, interval, hooks=''):
    """The Shapes DDPM config with a tiny U-Net on the test data, EMA on, checkpoints kept."""
    base = osp.join(repo_root, 'configs/ddpm/ddpm_unet-shapes32_1xb64-1100it_shapes-32x32.py')
    path.write_text('\n'.join([
        f'_base_ = {base!r}',
        f'model = dict(unet_cfg={dict(TINY, sample_size=32)!r})',
        f"train_dataloader = dict(batch_size=8, num_workers={workers}, persistent_workers=False,"
        f" dataset=dict(data_root={shapes_root + '/'!r}))",
        f'train_cfg = dict(max_iters={iters})',
        f"default_hooks = dict(checkpoint=dict(interval={interval}, max_keep_ckpts=-1))",
        "custom_hooks = [dict(type='EMAHook', momentum=0.1, update_buffers=True, priority=49),"
        f"{hooks}]"]))
    return path


def test_resume_restores_ema_and_optimizer_state(tmp_path, repo_root, shapes_root, train_cli):
    """Train 4 iterations with a checkpoint at 2, resume from it: the EMA and Adam step
    counters continue from 2 (they would restart at 0 if their state were lost)."""
    cfg = tiny_ddpm_config(tmp_path / 'ddpm_tiny.py', repo_root, shapes_root, 0, 4, 2,
                           " dict(type='mmdiffrep.DDPMSampleHook', interval=2, num_samples=4, "
                           "steps=2)")

    def train(*extra):
        return train_cli(cfg, *extra)

    first = tmp_path / 'w1'
    train('--work-dir', str(first))
    log = train('--work-dir', str(tmp_path / 'w2'), '--resume', str(first / 'iter_2.pth'))
    assert 'resumed epoch: 0, iter: 2' in log
    final = torch.load(tmp_path / 'w2' / 'iter_4.pth', map_location='cpu')
    assert int(final['ema_state_dict']['steps']) == 4
    adam_steps = {int(s['step']) for s in final['optimizer']['state'].values()}
    assert adam_steps == {4}
    assert (tmp_path / 'w2' / 'samples' / 'iter_4.png').exists()


def test_classifier_free_guidance_matches_two_separate_forwards():
    """Label dropout trains the null class (the last embedding); guided DDIM sampling uses
    out(null) + w (out(label) - out(null)) at every step, computed here by hand with two
    plain forwards; w = 1 is the plain conditional sampler."""
    from diffusers import DDIMScheduler
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    model = DDPM(dict(TINY, num_class_embeds=4), label_dropout=0.999).eval()
    assert model.null_label == 3
    seen = []
    model.unet.class_embedding.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    model.train()
    model.loss(torch.rand(4, 3, 16, 16) * 2 - 1,
               [DataSample().set_gt_label(y) for y in (0, 1, 2, 0)])
    assert seen[-1].tolist() == [3, 3, 3, 3]  # dropped to the null class
    model.eval()
    labels = torch.tensor([0, 2])
    got = model.sample(2, steps=4, labels=labels, generator=torch.Generator().manual_seed(5),
                       guidance_scale=3.0)
    sched = DDIMScheduler.from_config(model.scheduler.config)
    sched.set_timesteps(4)
    x = torch.randn((2, 3, 16, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        for t in sched.timesteps:
            cond = model.unet(x, t, class_labels=labels).sample
            null = model.unet(x, t, class_labels=torch.full_like(labels, 3)).sample
            x = sched.step(null + 3.0 * (cond - null), t, x).prev_sample
    torch.testing.assert_close(got, x.clamp(-1, 1), atol=1e-4, rtol=1e-4)
    plain = model.sample(2, steps=4, labels=labels, generator=torch.Generator().manual_seed(5))
    one = model.sample(2, steps=4, labels=labels, generator=torch.Generator().manual_seed(5),
                       guidance_scale=1.0)
    torch.testing.assert_close(one, plain, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='needs a DDPM trained with label_dropout'):
        DDPM(dict(TINY, num_class_embeds=4)).sample(2, steps=2, guidance_scale=2.0)
    with pytest.raises(ValueError, match='needs a class-conditional U-Net'):
        DDPM(TINY, label_dropout=0.1)


def test_resume_is_exact(tmp_path, repo_root, shapes_root, train_cli):
    """Regression: after --resume the timesteps and noise were drawn from re-seeded generators,
    so the weights ended 5e-4 away from the uninterrupted run. With the generators' states in
    the checkpoint (RandomStateHook, added by tools/train.py) and data augmentation in a worker,
    8 iterations equal 4 + resume + 4 exactly."""
    cfg = tiny_ddpm_config(tmp_path / 'ddpm_exact.py', repo_root, shapes_root, 1, 8, 4)
    train_cli(cfg, '--work-dir', str(tmp_path / 'full'))
    log = train_cli(cfg, '--work-dir', str(tmp_path / 'resumed'), '--resume',
                    str(tmp_path / 'full' / 'iter_4.pth'))
    assert 'resumed epoch: 0, iter: 4' in log
    a = torch.load(tmp_path / 'full' / 'iter_8.pth', map_location='cpu')
    b = torch.load(tmp_path / 'resumed' / 'iter_8.pth', map_location='cpu')
    for key in ('state_dict', 'ema_state_dict'):
        for k, v in a[key].items():
            assert torch.equal(v, b[key][k]), (key, k, (v.float() - b[key][k].float()).abs().max())
