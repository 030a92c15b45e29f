"""TimeConditionedEncoder: give any backbone a diffusion-time input, E(x0, t).

DRL's "infinite-dimensional" code (Mittal et al. 2023, Eq. 8) maps an image to a curve
``t -> E(x0, t)``. This wrapper adds that time input to an ordinary toolbox backbone: a
sinusoidal embedding of t (diffusers' ``Timesteps`` + ``TimestepEmbedding``) drives a FiLM
modulation ``h * (1 + scale(t)) + shift(t)`` of every stage's output (forward hooks held for
one call, :func:`mmdiffrep.utils.recorder.temporary_hooks`, so the wrapped backbone's code and
state-dict keys are untouched). The FiLM layers start at zero: before training the wrapper
computes exactly the wrapped backbone. ``takes_time = True`` tells algorithms (DRL) to pass t.

It is a backbone of its own, usable in any toolbox's config; ``t`` fixes the time a
downstream model reads the encoder at (``forward(x, t=...)`` overrides it per call)::

    backbone = dict(type='mmdiffrep.TimeConditionedEncoder', t=0.5,
                    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
                    init_cfg=dict(type='Pretrained', checkpoint='encoder.pth'))
"""
import functools
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdiffrep.diffusion.noise_processes import check_unit_time, unit_time_to_embedding_input
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.recorder import record_shapes, temporary_hooks
from ..utils import as_tuple, dry_run_outputs


def _film(scale: Optional[torch.Tensor], shift: torch.Tensor, module, args, out):
    if scale is not None:
        out = out * (1 + scale[:, :, None, None])
    return out + shift[:, :, None, None]


def default_stage_names(backbone: nn.Module) -> List[str]:
    """Stage modules of common OpenMMLab backbones: ResNet-style ``res_layers`` (mmpretrain,
    mmseg, mmpose ResNets) or a ``stages`` ModuleList (ConvNeXt, HorNet, ...)."""
    if hasattr(backbone, 'res_layers'):
        return list(backbone.res_layers)
    stages = getattr(backbone, 'stages', None)
    if isinstance(stages, nn.ModuleList):
        return [f'stages.{i}' for i in range(len(stages))]
    raise ValueError(f'cannot find the stages of {type(backbone).__name__}: pass '
                     'stage_names=[...] (names from backbone.named_modules()) to condition on t')


@MODELS.register_module()
class TimeConditionedEncoder(BaseModule):
    """Wrap ``backbone`` so that its stages are modulated by a diffusion time t in [0, 1].

    Args:
        backbone: any backbone config (``type='mmpretrain.ResNet_CIFAR'``, ...).
        t: time used when ``forward`` gets none (downstream use at a fixed t).
        stage_names: modules whose outputs are modulated (default: the backbone's stages).
        embed_dim: width of the time embedding.
        mode: ``'film'`` (scale and shift per channel) or ``'bias'`` (shift only, as the
            time bias of traj_drl's WRN).
        probe_size: side of the dummy image used once to read the stages' channel counts.
    """
    takes_time = True  # forward(x, t): DRL reads the code at the training sample's time

    def __init__(self,
                 backbone: dict,
                 t: float = 0.0,
                 stage_names: Optional[Sequence[str]] = None,
                 embed_dim: int = 128,
                 mode: str = 'film',
                 probe_size: int = 32,
                 in_channels: int = 3,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps
        if mode not in ('film', 'bias'):
            raise ValueError(f"unknown mode {mode!r}; expected 'film' or 'bias'")
        if not 0 <= t <= 1:
            raise ValueError(f't={t} is outside [0, 1] (the diffusion time of DRL)')
        self.t, self.mode = float(t), mode
        self.backbone = MODELS.build(backbone)
        self.stage_names = list(stage_names or default_stage_names(self.backbone))
        modules = dict(self.backbone.named_modules())
        missing = [n for n in self.stage_names if n not in modules]
        if missing:
            raise ValueError(f'stage_names {missing} are not modules of '
                             f'{type(self.backbone).__name__}')
        channels = self._stage_channels(modules, in_channels, probe_size)
        self.time_proj = Timesteps(embed_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(embed_dim, embed_dim)
        per_channel = 2 if mode == 'film' else 1
        self.film = nn.ModuleList(nn.Linear(embed_dim, per_channel * c) for c in channels)
        for layer in self.film:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _stage_channels(self, modules, in_channels: int, size: int) -> List[int]:
        _, shapes = record_shapes({n: modules[n] for n in self.stage_names},
                                  lambda: dry_run_outputs(self.backbone, size, in_channels))
        bad = {n: s for n, s in shapes.items() if len(s) != 4}
        if bad or len(shapes) != len(self.stage_names):
            raise ValueError(f'stage outputs must be NCHW maps, got {bad or shapes}')
        return [shapes[n][1] for n in self.stage_names]

    def time_embed(self, t: torch.Tensor) -> torch.Tensor:
        """Embedding of times t in [0, 1] (B, ) -> (B, embed_dim)."""
        emb = self.time_proj(unit_time_to_embedding_input(t.float()))
        return self.time_embedding(emb.to(self.time_embedding.linear_1.weight.dtype))

    def forward(self, x: torch.Tensor, t: Optional[Union[float, torch.Tensor]] = None):
        if t is None:
            t = self.t
        t = torch.as_tensor(t, dtype=torch.float32, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        check_unit_time(t, 'encoder times')
        emb = self.time_embed(t)
        hooks = []
        for name, layer in zip(self.stage_names, self.film):
            out = layer(emb)
            scale, shift = out.chunk(2, dim=1) if self.mode == 'film' else (None, out)
            hooks.append((self.backbone.get_submodule(name),
                          functools.partial(_film, scale, shift)))
        with temporary_hooks(hooks):
            return as_tuple(self.backbone(x))
