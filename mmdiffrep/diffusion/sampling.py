"""Generate images with a diffusers U-Net and diffusers' DDIM / DDPM samplers."""
from typing import Optional

import torch
import torch.nn as nn

SAMPLERS = ('ddim', 'ddpm')


@torch.no_grad()
def sample_images(unet: nn.Module, scheduler_config, num: int, steps: int = 50,
                  labels: Optional[torch.Tensor] = None,
                  generator: Optional[torch.Generator] = None,
                  sampler: str = 'ddim', guidance_scale: Optional[float] = None,
                  null_label=None) -> torch.Tensor:
    """``num`` images in [-1, 1] (N, C, H, W) at the U-Net's ``sample_size``, starting from
    noise drawn with ``generator`` (on the CPU, so seeds give the same images on any device).

    ``labels`` are class indices, or (N, D) class-embedding vectors for U-Nets with
    ``class_embed_type='identity'`` (representation-conditioned generation). ``guidance_scale``
    w with ``null_label`` (an index, or the null embedding (N, D)): classifier-free guidance,
    the prediction ``out(null) + w (out(labels) - out(null))`` from one batched forward."""
    from diffusers import DDIMScheduler, DDPMScheduler
    if sampler not in SAMPLERS:
        raise ValueError(f'unknown sampler {sampler!r}; expected one of {SAMPLERS}')
    sched = {'ddim': DDIMScheduler, 'ddpm': DDPMScheduler}[sampler].from_config(scheduler_config)
    sched.set_timesteps(steps)
    p = next(unet.parameters())
    size = unet.config.sample_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    x = torch.randn((num, unet.config.in_channels) + size, generator=generator).to(p)
    labels = labels.to(p.device) if labels is not None else None
    guided = guidance_scale is not None
    if guided:
        if labels is None or null_label is None:
            raise ValueError('classifier-free guidance needs labels and the null label')
        null = null_label.to(labels) if isinstance(null_label, torch.Tensor) \
            else torch.full_like(labels, null_label)
        both = torch.cat([labels, null])
    for t in sched.timesteps:
        if guided:
            pair = unet(torch.cat([x, x]), t.to(p.device), class_labels=both).sample
            cond, uncond = pair.chunk(2)
            out = uncond + guidance_scale * (cond - uncond)
        else:
            out = unet(x, t.to(p.device), class_labels=labels).sample
        x = sched.step(out, t, x).prev_sample
    return x.clamp(-1, 1)
