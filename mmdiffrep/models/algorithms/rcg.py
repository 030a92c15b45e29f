"""Representation-conditioned generation (RCG, Li et al. 2024; survey §3.2.3), minimal form.

* :class:`RepresentationConditioner`: a FROZEN encoder's pooled representation r of the clean
  image, mapped by a zero-initialised linear layer into the U-Net's timestep embedding (the
  ``class_embed_type='identity'`` path, as DRL's code), replaced by a learned null vector with
  probability ``drop_prob`` so the DDPM learns the unconditional branch for classifier-free
  guidance. Use it as ``DDPM(representation=dict(type='mmdiffrep.RepresentationConditioner',
  encoder=...))``; at initialisation the DDPM computes exactly the unconditional U-Net.
* :class:`RepresentationDiffusion`: a small diffusion model on the representation vectors (an
  MLP denoiser trained with the package's :class:`~mmdiffrep.diffusion.objective.
  DenoisingObjective`), so unconditional generation is two-stage
  (:func:`sample_two_stage`): sample r, then an image conditioned on it.

Both read the encoder the same way (:func:`encode_representation`): backbone config of any
toolbox, its own normalisation, last output global-average pooled and L2-normalised times
sqrt(dim) (unit scale per coordinate).
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmdiffrep.diffusion.objective import DenoisingObjective
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number
from mmdiffrep.utils.frozen import FrozenHolderMixin, hold_frozen
from ..utils import as_tuple, dry_run_outputs
from .alignment import _init_frozen_encoder, _normalise


class _FrozenEncoder(FrozenHolderMixin, nn.Module):
    """A frozen encoder with its normalisation: images in [-1, 1] -> representations."""

    def __init__(self, encoder: dict, mean: Sequence[float], std: Sequence[float],
                 index: int = -1, probe_size: int = 32):
        super().__init__()
        enc = _init_frozen_encoder(encoder)
        self.index = index
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), False)
        out = dry_run_outputs(enc, probe_size, len(mean))[index]
        self.dim = int(out.shape[1])
        hold_frozen(self, 'encoder', enc)

    @torch.no_grad()
    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        return encode_representation(self.encoder, x0, self.mean, self.std, self.index)


def encode_representation(encoder, x0, mean, std, index=-1) -> torch.Tensor:
    """(B, D) pooled, L2-normalised * sqrt(D) representation of images ``x0`` in [-1, 1]."""
    out = as_tuple(encoder(_normalise(x0, mean, std)))[index].float()
    r = out.mean((2, 3)) if out.dim() == 4 else out
    if r.dim() != 2:
        raise ValueError(f'the encoder output has shape {tuple(out.shape)}; a representation '
                         'is a pooled NCHW map or a (B, C) vector')
    return F.normalize(r, dim=1) * math.sqrt(r.shape[1])


@MODELS.register_module()
class RepresentationConditioner(nn.Module):
    """Condition a DDPM's U-Net on a frozen encoder's representation (see the module docstring).

    Args:
        encoder: a backbone config (frozen: never trained, saved or wrapped in DDP).
        encoder_mean, encoder_std: its input normalisation on the 0-255 scale.
        drop_prob: probability of the null vector in training (the unconditional branch).
        encoder_index: which encoder output is pooled.
        probe_size: side of the dummy image used once to read the encoder's width.
    """

    def __init__(self, encoder: dict, encoder_mean: Sequence[float] = (127.5, 127.5, 127.5),
                 encoder_std: Sequence[float] = (127.5, 127.5, 127.5), drop_prob: float = 0.1,
                 encoder_index: int = -1, probe_size: int = 32):
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
        self.encoder = _FrozenEncoder(encoder, encoder_mean, encoder_std, encoder_index,
                                      probe_size)
        self.dim, self.drop_prob = self.encoder.dim, float(drop_prob)
        self.null = nn.Parameter(torch.zeros(self.dim))
        self.proj = None

    def attach(self, embedding_dim: int) -> None:
        """The zero-initialised map into the U-Net's timestep embedding."""
        self.proj = nn.Linear(self.dim, embedding_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def embed(self, r: Optional[torch.Tensor], batch: int) -> torch.Tensor:
        """The U-Net's ``class_labels`` for representations ``r`` (None: the null vector)."""
        if r is None:
            r = self.null.expand(batch, -1)
        return self.proj(r)

    def training_embedding(self, x0: torch.Tensor) -> torch.Tensor:
        r = self.encoder(x0)
        if self.training and self.drop_prob:
            drop = torch.rand(r.shape[0], 1, device=r.device) < self.drop_prob
            r = torch.where(drop, self.null.expand_as(r), r)
        return self.embed(r, r.shape[0])


class _TimeMLP(nn.Module):
    """An MLP denoiser of vectors: residual SiLU blocks, the timestep embedding added."""

    def __init__(self, dim: int, width: int, depth: int):
        super().__init__()
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps
        self.time_proj = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(width, width)
        self.inp = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(width), nn.SiLU(),
                                                  nn.Linear(width, width)) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_embedding(self.time_proj(t.expand(x.shape[0])).to(x.dtype))
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)


@MODELS.register_module()
class RepresentationDiffusion(BaseModel):
    """RCG's representation diffusion model: denoise a frozen encoder's representations.

    Args:
        encoder, encoder_mean, encoder_std, encoder_index, probe_size: the frozen encoder (as
            :class:`RepresentationConditioner`; use the same one).
        width, depth: of the MLP denoiser.
        objective: :class:`DenoisingObjective` arguments (default: VP linear, epsilon).
    """

    def __init__(self, encoder: dict, encoder_mean: Sequence[float] = (127.5, 127.5, 127.5),
                 encoder_std: Sequence[float] = (127.5, 127.5, 127.5), encoder_index: int = -1,
                 width: int = 256, depth: int = 4, objective: Optional[dict] = None,
                 probe_size: int = 32, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.encoder = _FrozenEncoder(encoder, encoder_mean, encoder_std, encoder_index,
                                      probe_size)
        self.dim = self.encoder.dim
        self.objective = DenoisingObjective(**dict(objective or {}))
        if self.objective.process.name != 'vp':
            raise ValueError('RepresentationDiffusion samples with DDIM: use a VP process')
        check_number('RepresentationDiffusion', 'width', width, low=1, integer=True)
        check_number('RepresentationDiffusion', 'depth', depth, low=1, integer=True)
        self.denoiser = _TimeMLP(self.dim, width, depth)

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        r = self.encoder(inputs)
        t = self.objective.sample_time(r.shape[0], r.device)
        return dict(loss_rdm=self.objective.loss(r, t, self.denoiser))

    @torch.no_grad()
    def sample(self, num: int, steps: int = 50,
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """(num, dim) representations with diffusers' DDIM sampler."""
        from diffusers import DDIMScheduler
        sched = DDIMScheduler.from_config(self.objective.process.scheduler.config)
        sched.set_timesteps(steps)
        p = next(self.denoiser.parameters())
        x = torch.randn((num, self.dim), generator=generator).to(p)
        for t in sched.timesteps:
            x = sched.step(self.denoiser(x, t.to(p.device).float()), t, x).prev_sample
        return x

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        """``'loss'``: the denoising loss; ``'tensor'``: the encoder's representations."""
        if mode not in ('loss', 'tensor'):
            raise ValueError(f'RepresentationDiffusion has no {mode!r} mode (use val_cfg=None)')
        return self.loss(inputs, data_samples) if mode == 'loss' else self.encoder(inputs)


@torch.no_grad()
def sample_two_stage(rdm: RepresentationDiffusion, ddpm, num: int, steps: int = 50,
                     guidance_scale: Optional[float] = None,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """RCG's unconditional generation: representations from ``rdm``, then images from the
    representation-conditioned ``ddpm`` (optionally guided against the null vector)."""
    r = rdm.sample(num, steps, generator)
    return ddpm.sample(num, steps=steps, representations=r, generator=generator,
                       guidance_scale=guidance_scale)
