"""The core operation of mmdiffrep: a diffusers U-Net, an image, timesteps and a noise rule ->
the activations of named blocks.

The backbone, RepFusion's teacher and the analysis tools all call :class:`UNetFeatureExtractor`.
It runs every (timestep x noise draw) as ONE batched U-Net forward with a per-sample timestep
tensor, and stops the forward right after the last requested block.
"""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn

from mmdiffrep.utils.checks import check_number, check_unique
from mmdiffrep.utils.recorder import record_shapes
from .blocks import BlockRecorder, block_modules

NOISE_MODES = ('none', 'fixed', 'random')


def size_divisor(unet: nn.Module) -> int:
    """The multiple H and W must have: 2 ** (number of down blocks with a downsampler)."""
    n = sum(1 for b in unet.down_blocks if getattr(b, 'downsamplers', None))
    return 2**n


def check_image_size(unet: nn.Module, x: torch.Tensor, hint: str = '') -> None:
    """A clear error when the U-Net cannot take images of this size (no padding: for
    training a denoiser the image itself must fit)."""
    d = size_divisor(unet)
    if x.shape[-1] % d or x.shape[-2] % d:
        raise ValueError(f'image size {tuple(x.shape[-2:])} is not supported by this U-Net: '
                         f'H and W must be multiples of {d}{hint}')


class UNetFeatureExtractor:
    """Read block features of a diffusers U-Net at given timesteps.

    Args:
        unet: a ``UNet2DModel`` or ``UNet2DConditionModel``.
        blocks: block names (see :mod:`mmdiffrep.diffusion.blocks`), in the order wanted.
        timesteps: one or more integer timesteps in ``[0, num_train_timesteps)``.
        scheduler: the diffusers scheduler whose ``add_noise`` defines ``x_t``.
        noise: ``'none'`` (the clean input with the timestep embedding, as RepFusion's code),
            ``'fixed'`` (noise from a seeded generator: identical on every call, process, rank
            and after save/load; shared by the images of a batch, as DDPM-Seg) or ``'random'``
            (fresh noise per call and image, as DDAE).
        ensemble: number of noise draws whose features are averaged (DIFT); must be 1 for
            ``noise='none'``.
        noise_seed: seed of the ``'fixed'`` noise.
        early_exit: stop the forward after the last requested block.
        max_forward_batch: at most this many rows (images x timesteps x draws) per U-Net
            forward; the rest in further forwards, features concatenated. None: all in one.
            On a CPU, ~16 rows per forward is faster than one large batch (its activations
            stay in cache: ``tools/analysis/benchmark_diffusion_unet.py``); on a GPU it bounds
            memory (many timesteps x a DIFT ensemble).
        condition: what the U-Net gets besides image and timestep: a
            :class:`~mmdiffrep.models.conditions.UNetCondition` (or any object with
            ``unet_kwargs(batch, device) -> dict`` and ``patch(unet) -> context manager``),
            attached to ``unet`` by its owner; None for an unconditional U-Net.

    Not an ``nn.Module``: it holds a plain reference to ``unet``, whose owner (a backbone, a
    distillation teacher) decides whether the U-Net is a trainable submodule or a hidden frozen
    one. Calling it with ``x`` in the U-Net's own input range with H, W multiples of
    :func:`size_divisor` and returns ``{block: tensor (T, B, C, h, w)}`` (ensemble-averaged).
    """

    def __init__(self,
                 unet: nn.Module,
                 blocks: Sequence[str],
                 timesteps: Union[int, Sequence[int]],
                 scheduler,
                 noise: str = 'none',
                 ensemble: int = 1,
                 noise_seed: int = 0,
                 early_exit: bool = True,
                 condition=None,
                 max_forward_batch: Optional[int] = None):
        self.unet = unet  # a plain reference: the owner decides whether it is a submodule
        self.scheduler = scheduler
        self.blocks = list(blocks)
        if not self.blocks:
            raise ValueError('`blocks` must name at least one U-Net block')
        check_unique('UNetFeatureExtractor', 'blocks', self.blocks)
        self._modules = block_modules(unet, self.blocks)  # unknown names raise (valid list)
        self.timesteps = list(timesteps) if isinstance(timesteps, (list, tuple)) else [timesteps]
        if not self.timesteps:
            raise ValueError('`timesteps` must list at least one timestep')
        check_unique('UNetFeatureExtractor', 'timesteps', self.timesteps)
        num_train = int(scheduler.config.num_train_timesteps)
        for t in self.timesteps:
            if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < num_train:
                raise ValueError(f'timestep {t!r} out of range: timesteps must be integers in '
                                 f'[0, {num_train}) for this scheduler')
        if noise not in NOISE_MODES:
            raise ValueError(f'unknown noise mode {noise!r}; expected one of {NOISE_MODES}')
        if ensemble < 1 or (noise == 'none' and ensemble != 1):
            raise ValueError(f'ensemble={ensemble} is invalid with noise={noise!r}: it counts '
                             'noise draws (>= 1, and 1 when there is no noise)')
        self.noise, self.ensemble, self.noise_seed = noise, ensemble, noise_seed
        if max_forward_batch is not None:
            check_number('UNetFeatureExtractor', 'max_forward_batch', max_forward_batch, low=1,
                         integer=True)
        self.max_forward_batch = max_forward_batch
        self.condition = condition
        self.divisor = size_divisor(unet)
        # one dry forward gives the execution order (for early exit) and the block shapes
        # (C, h, w) for a probe_size x probe_size input (for strides)
        self.probe_size = 4 * self.divisor
        self.order, self.block_shapes = self._dry_run()
        self.stop_after = self.order[-1] if early_exit else None
        self._fixed_noise: Dict[tuple, torch.Tensor] = {}

    # -- structure ---------------------------------------------------------------------------
    def _dry_run(self):
        p = next(self.unet.parameters())
        x = torch.zeros(1, self.unet.config.in_channels, self.probe_size, self.probe_size,
                        device=p.device, dtype=p.dtype)
        t = torch.zeros(1, dtype=torch.long, device=x.device)
        order, shapes = record_shapes(self._modules, lambda: self._unet(x, t))
        return order, {n: torch.Size(shapes[n][1:]) for n in order}

    def _unet(self, x_t: torch.Tensor, t: torch.Tensor):
        """One U-Net forward with the condition applied."""
        if self.condition is None:
            return self.unet(x_t, t, return_dict=False)
        kwargs = self.condition.unet_kwargs(x_t.shape[0], x_t.device)
        with self.condition.patch(self.unet):
            return self.unet(x_t, t, **kwargs, return_dict=False)

    # -- noise ---------------------------------------------------------------------------------
    def _noise(self, x: torch.Tensor, T: int) -> torch.Tensor:
        """Noise for the batch ``x`` repeated as (T, K, B): shape (T*K*B, C, H, W)."""
        K, B = self.ensemble, x.shape[0]
        if self.noise == 'random':
            return torch.randn((T * K * B, ) + x.shape[1:], device=x.device, dtype=x.dtype)
        key = (K, ) + tuple(x.shape[1:]) + (str(x.device), x.dtype)
        if key not in self._fixed_noise:
            gen = torch.Generator(device='cpu').manual_seed(self.noise_seed)
            draws = torch.randn((K, ) + tuple(x.shape[1:]), generator=gen)
            self._fixed_noise[key] = draws.to(device=x.device, dtype=x.dtype)
        draws = self._fixed_noise[key]  # (K, C, H, W), shared by the batch and the timesteps
        return draws[None, :, None].expand(T, K, B, *x.shape[1:]).reshape(-1, *x.shape[1:])

    def check_timesteps(self, t: torch.Tensor) -> torch.Tensor:
        """Validate a per-image timestep tensor (e.g. sampled by a policy)."""
        num_train = int(self.scheduler.config.num_train_timesteps)
        if t.dtype not in (torch.int32, torch.int64) or t.dim() != 1:
            raise ValueError(f'per-image timesteps must be a 1-D integer tensor, got '
                             f'{t.dtype} of shape {tuple(t.shape)}')
        if bool(((t < 0) | (t >= num_train)).any()):  # one device->host read
            raise ValueError(f'timesteps {t.tolist()} out of range [0, {num_train})')
        return t.long()

    def noisy_input(self, x: torch.Tensor, timesteps: Optional[torch.Tensor] = None):
        """``(x_t, t)`` for all timesteps x draws x images, batched as (T, K, B); with
        per-image ``timesteps`` (shape (B,)), T = 1 and image i is read at ``timesteps[i]``."""
        K, B = self.ensemble, x.shape[0]
        if timesteps is None:
            T = len(self.timesteps)
            t = torch.tensor(self.timesteps, device=x.device, dtype=torch.long)
            t = t.repeat_interleave(K * B)
        else:
            if timesteps.shape != (B, ):
                raise ValueError(f'per-image timesteps need shape ({B},), got '
                                 f'{tuple(timesteps.shape)}')
            T, t = 1, self.check_timesteps(timesteps).to(x.device).repeat(K)
        xb = x.repeat(T * K, 1, 1, 1)
        if self.noise == 'none':
            return xb, t
        noise = self._noise(x, T)
        x_t = self.scheduler.add_noise(xb.float(), noise.float(), t).to(x.dtype)
        return x_t, t

    # -- forward -------------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor,
                 timesteps: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """``x`` in the U-Net's range; ``timesteps``: optional per-image (B,) tensor that
        replaces the configured timesteps (T = 1)."""
        check_image_size(self.unet, x, hint=' (pad it first; DiffusionUNet does this for you)')
        K, B = self.ensemble, x.shape[0]
        T = len(self.timesteps) if timesteps is None else 1
        x_t, t = self.noisy_input(x, timesteps)
        rows = self.max_forward_batch or x_t.shape[0]
        parts = []
        for i in range(0, x_t.shape[0], rows):
            with BlockRecorder(self.unet, self.blocks, self.stop_after) as rec:
                parts.append(rec.run(lambda: self._unet(x_t[i:i + rows], t[i:i + rows])))
        feats = parts[0] if len(parts) == 1 else {
            name: torch.cat([p[name] for p in parts]) for name in self.blocks}
        out = {}
        for name in self.blocks:
            f = feats[name]
            f = f.view(T, K, B, *f.shape[1:])
            out[name] = f.mean(1) if K > 1 else f[:, 0]
        return out
