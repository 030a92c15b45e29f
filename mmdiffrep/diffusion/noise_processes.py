"""Forward noising processes on a continuous time t in [0, 1]: VE and VP (DDPM) SDEs.

Both give ``x_t = alpha(t) * x0 + std(t) * eps`` and a noise level ``sigma(t) = std / alpha``
(the VE-equivalent noise-to-signal ratio), so time samplers and loss weightings written in
terms of t or sigma work for either family.

* :class:`VESDE` (Song et al. 2021; DRL's setting): ``sigma(t) = sigma_min (sigma_max /
  sigma_min) ** t`` and the perturbation kernel ``N(x0, [sigma(t)^2 - sigma(0)^2] I)``.
* :class:`VPSDE`: the discrete DDPM chain of a diffusers ``DDPMScheduler`` (the same
  schedules as :class:`~mmdiffrep.models.algorithms.DDPM`): t maps to the step
  ``round(t * (T - 1))`` and the noising is the scheduler's ``add_noise``.

Example::

    >>> sde = build_noise_process(dict(type='ve', sigma_min=0.01, sigma_max=50))
    >>> x_t, std = sde.perturb(x0, t=torch.full((4, ), 0.5), noise=torch.randn_like(x0))
"""
import math
from typing import Tuple, Union

import torch

# mmdiffrep name -> diffusers ``beta_schedule``
BETA_SCHEDULES = {'linear': 'linear', 'scaled_linear': 'scaled_linear',
                  'cosine': 'squaredcos_cap_v2', 'squaredcos_cap_v2': 'squaredcos_cap_v2'}


def ddpm_scheduler(num_train_timesteps: int = 1000, beta_schedule: str = 'linear',
                   prediction_type: str = 'epsilon'):
    """A diffusers ``DDPMScheduler`` from mmdiffrep's schedule names (clear error if unknown)."""
    from diffusers import DDPMScheduler
    if beta_schedule not in BETA_SCHEDULES:
        raise ValueError(f'unknown beta_schedule {beta_schedule!r}; expected one of '
                         f'{sorted(BETA_SCHEDULES)}')
    return DDPMScheduler(num_train_timesteps=num_train_timesteps,
                         beta_schedule=BETA_SCHEDULES[beta_schedule],
                         prediction_type=prediction_type)


def _check_t(t: torch.Tensor) -> None:
    if t.numel() and bool(((t < 0) | (t > 1)).any()):  # one device read on the good path
        raise ValueError(f't must lie in [0, 1], got values in [{t.min().item():.4g}, '
                         f'{t.max().item():.4g}]')


class VESDE:
    """Variance-exploding SDE with a geometric noise schedule.

    Args:
        sigma_min: noise level at t = 0 (0.01 in DRL and score_sde).
        sigma_max: noise level at t = 1 (50 in DRL for 32 px images).
    """
    name = 've'

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0):
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f'VE SDE needs 0 < sigma_min < sigma_max, got sigma_min='
                             f'{sigma_min}, sigma_max={sigma_max} (range inverted or empty)')
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        return torch.log(sigma / self.sigma_min) / math.log(self.sigma_max / self.sigma_min)

    def marginal(self, t: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(alpha, std) of ``p_0t(x_t | x0) = N(alpha x0, std^2 I)``."""
        _check_t(t)
        std = torch.sqrt(torch.clamp(self.sigma(t) ** 2 - self.sigma_min ** 2, min=0))
        return torch.ones_like(t), std

    def model_time(self, t: torch.Tensor) -> torch.Tensor:
        """What the U-Net's timestep embedding reads: 999 t (linear in log sigma)."""
        return t * 999.0

    def perturb(self, x0: torch.Tensor, t: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(x_t, std) for per-sample times ``t`` (B, )."""
        alpha, std = self.marginal(t)
        shape = (-1, ) + (1, ) * (x0.dim() - 1)
        return alpha.view(shape) * x0 + std.view(shape) * noise, std


class VPSDE:
    """Variance-preserving SDE: the discrete DDPM chain of diffusers' ``DDPMScheduler``.

    Args:
        num_train_timesteps: length T of the chain.
        beta_schedule: ``'linear'`` | ``'cosine'`` | ``'scaled_linear'`` (as ``DDPM``).
    """
    name = 'vp'

    def __init__(self, num_train_timesteps: int = 1000, beta_schedule: str = 'linear'):
        self.scheduler = ddpm_scheduler(num_train_timesteps, beta_schedule)
        self.num_train_timesteps = num_train_timesteps
        abar = self.scheduler.alphas_cumprod.double()
        # noise-to-signal ratio of every step, increasing in the step
        self._sigmas = torch.sqrt((1 - abar) / abar).float()

    def step(self, t: torch.Tensor) -> torch.Tensor:
        _check_t(t)
        return torch.round(t * (self.num_train_timesteps - 1)).long()

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self._sigmas.to(t.device)[self.step(t)]

    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        sigmas = self._sigmas.to(sigma.device)
        step = torch.searchsorted(sigmas, sigma.contiguous()).clamp(max=len(sigmas) - 1)
        return step.float() / (self.num_train_timesteps - 1)

    def marginal(self, t: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        abar = self.scheduler.alphas_cumprod.to(t.device)[self.step(t)]
        return abar.sqrt(), (1 - abar).sqrt()

    def model_time(self, t: torch.Tensor) -> torch.Tensor:
        return self.step(t)

    def perturb(self, x0: torch.Tensor, t: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x_t = self.scheduler.add_noise(x0, noise, self.step(t))
        return x_t, self.marginal(t)[1]


NOISE_PROCESSES = {'ve': VESDE, 'vp': VPSDE}


def build_noise_process(cfg: Union[str, dict]) -> Union[VESDE, VPSDE]:
    """``'ve'`` / ``'vp'`` or ``dict(type='ve', sigma_min=..., sigma_max=...)``."""
    cfg = dict(type=cfg) if isinstance(cfg, str) else dict(cfg)
    name = cfg.pop('type', None)
    if name not in NOISE_PROCESSES:
        raise ValueError(f'unsupported SDE {name!r}; expected one of {sorted(NOISE_PROCESSES)}'
                         " ('ve': variance exploding, 'vp': variance preserving / DDPM)")
    return NOISE_PROCESSES[name](**cfg)
