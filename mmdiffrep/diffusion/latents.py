"""The VAE path of latent U-Nets (Stable-Diffusion style): images -> scaled latents.

:class:`LatentEncoder` holds a frozen ``AutoencoderKL`` outside its parameters
(:mod:`mmdiffrep.utils.frozen`), so a backbone that uses it never trains, wraps in DDP or
(unless the VAE is random and cannot be rebuilt) saves it.

Example::

    enc = LatentEncoder(pretrained='stabilityai/stable-diffusion-2-1', subfolder='vae')
    z = enc(images_in_minus1_1)        # (B, 4, H / 8, W / 8), times the scaling factor
"""
from typing import Optional

import torch
import torch.nn as nn

from mmdiffrep.utils.frozen import FrozenHolderMixin, hold_frozen
from .loading import load_vae

SAMPLE_MODES = ('mean', 'sample')


class LatentEncoder(FrozenHolderMixin, nn.Module):
    """Encode images with a frozen VAE and scale the latents.

    Args:
        pretrained: hub id or diffusers folder of the VAE (e.g. a pipeline with
            ``subfolder='vae'``); None builds a random one from ``cfg`` (then it is saved).
        cfg: ``AutoencoderKL`` kwargs for a random VAE.
        scaling_factor: latent scale (default: the VAE's ``scaling_factor``).
        sample: ``'mean'`` of the posterior or a ``'sample'`` from it.
        **kwargs: passed to :func:`~mmdiffrep.diffusion.loading.load_vae` (``subfolder``,
            ``torch_dtype``).
    """

    def __init__(self, pretrained: Optional[str] = None, cfg: Optional[dict] = None,
                 scaling_factor: Optional[float] = None, sample: str = 'mean', **kwargs):
        super().__init__()
        if sample not in SAMPLE_MODES:
            raise ValueError(f'vae sample must be one of {SAMPLE_MODES}, got {sample!r}')
        vae = load_vae(pretrained, cfg, **kwargs)
        self.sample = sample
        self.downsample = 2**(len(vae.config.block_out_channels) - 1)
        self.latent_channels = vae.config.latent_channels
        self.in_channels = vae.config.in_channels
        self.scale = float(scaling_factor if scaling_factor is not None else
                           getattr(vae.config, 'scaling_factor', 1.0))
        hold_frozen(self, 'vae', vae, save=pretrained is None)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images in the VAE's range ([-1, 1]) -> scaled latents."""
        dist = self.vae.encode(x.to(next(self.vae.parameters()).dtype)).latent_dist
        z = dist.mean if self.sample == 'mean' else dist.sample()
        return z * self.scale
