"""Forward noising processes on a continuous time t in [0, 1]: VE and VP (DDPM) SDEs, and the
one beta-schedule vocabulary of the package.

Both give ``x_t = alpha(t) * x0 + std(t) * eps`` and a noise level ``sigma(t) = std / alpha``
(the VE-equivalent noise-to-signal ratio), so time samplers and loss weightings written in
terms of t or sigma work for either family.

* :class:`VESDE` (Song et al. 2021; DRL's setting): ``sigma(t) = sigma_min (sigma_max /
  sigma_min) ** t`` and the perturbation kernel ``N(x0, [sigma(t)^2 - sigma(0)^2] I)``.
* :class:`VPSDE`: the discrete DDPM chain of a diffusers ``DDPMScheduler`` (the same
  schedules as :class:`~mmdiffrep.models.algorithms.DDPM`): t maps to the step
  ``round(t * (T - 1))`` and the noising is the scheduler's ``add_noise``.

Both are registered in :data:`mmdiffrep.registry.NOISE_PROCESSES` (``type='ve'`` / ``'vp'``)
and used through :class:`~mmdiffrep.diffusion.objective.DenoisingObjective`. Beta schedules are
named ``'linear'``, ``'scaled_linear'`` or ``'cosine'`` everywhere (DDPM, DRL's VP process,
``DiffusionUNet(scheduler_cfg=...)`` / :func:`~mmdiffrep.diffusion.loading.load_scheduler`);
diffusers' own ``'squaredcos_cap_v2'`` is accepted as the same cosine schedule.

Example::

    >>> sde = build_noise_process(dict(type='ve', sigma_min=0.01, sigma_max=50))
    >>> x_t, std = sde.perturb(x0, t=torch.full((4, ), 0.5), noise=torch.randn_like(x0))
"""
import math
from typing import Tuple, Union

import torch

from mmdiffrep.registry import NOISE_PROCESSES
from mmdiffrep.utils.checks import check_number

# mmdiffrep name -> diffusers ``beta_schedule``
BETA_SCHEDULES = {'linear': 'linear', 'scaled_linear': 'scaled_linear',
                  'cosine': 'squaredcos_cap_v2', 'squaredcos_cap_v2': 'squaredcos_cap_v2'}
#: the integer timestep the embedding of a U-Net reads for t = 1 (diffusers' 1000-step chains)
EMBEDDING_T_MAX = 999.0


def diffusers_beta_schedule(name: str) -> str:
    """diffusers' ``beta_schedule`` for one of mmdiffrep's names (clear error if unknown)."""
    if name not in BETA_SCHEDULES:
        raise ValueError(f'unknown beta_schedule {name!r}; expected one of '
                         f'{sorted(BETA_SCHEDULES)}')
    return BETA_SCHEDULES[name]


def ddpm_scheduler(num_train_timesteps: int = 1000, beta_schedule: str = 'linear',
                   prediction_type: str = 'epsilon'):
    """A diffusers ``DDPMScheduler`` from mmdiffrep's schedule names."""
    from diffusers import DDPMScheduler
    return DDPMScheduler(num_train_timesteps=num_train_timesteps,
                         beta_schedule=diffusers_beta_schedule(beta_schedule),
                         prediction_type=prediction_type)


def check_unit_time(t: torch.Tensor, what: str = 't') -> None:
    """A clear error for continuous times outside [0, 1]."""
    if t.numel() and bool(((t < 0) | (t > 1)).any()):  # one device read on the good path
        raise ValueError(f'{what} must lie in [0, 1], got values in [{t.min().item():.4g}, '
                         f'{t.max().item():.4g}]')


def unit_time_to_embedding_input(t: torch.Tensor) -> torch.Tensor:
    """What a diffusers timestep embedding reads for a continuous t in [0, 1]: 999 t."""
    return t * EMBEDDING_T_MAX


@NOISE_PROCESSES.register_module(name='ve')
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
        check_unit_time(t)
        std = torch.sqrt(torch.clamp(self.sigma(t) ** 2 - self.sigma_min ** 2, min=0))
        return torch.ones_like(t), std

    def model_time(self, t: torch.Tensor) -> torch.Tensor:
        """What the U-Net's timestep embedding reads: 999 t (linear in log sigma)."""
        return unit_time_to_embedding_input(t)

    def model_input(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t`` scaled to unit variance for the network: ``x_t / sqrt(1 + std^2)``."""
        alpha, std = self.marginal(t)
        return x_t * (alpha ** 2 + std ** 2).rsqrt().view((-1, ) + (1, ) * (x_t.dim() - 1))

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        alpha, std = self.marginal(t)
        return alpha ** 2 / std.clamp(min=1e-12) ** 2

    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, std = self.marginal(t)
        shape = (-1, ) + (1, ) * (x0.dim() - 1)
        return alpha.view(shape) * noise - std.view(shape) * x0

    def perturb(self, x0: torch.Tensor, t: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(x_t, std) for per-sample times ``t`` (B, )."""
        alpha, std = self.marginal(t)
        shape = (-1, ) + (1, ) * (x0.dim() - 1)
        return alpha.view(shape) * x0 + std.view(shape) * noise, std


@NOISE_PROCESSES.register_module(name='vp')
class VPSDE:
    """Variance-preserving SDE: the discrete DDPM chain of diffusers' ``DDPMScheduler``.

    Args:
        num_train_timesteps: length T of the chain.
        beta_schedule: ``'linear'`` | ``'cosine'`` | ``'scaled_linear'``.
        prediction_type: written into the scheduler's config (what its samplers expect).
    """
    name = 'vp'

    def __init__(self, num_train_timesteps: int = 1000, beta_schedule: str = 'linear',
                 prediction_type: str = 'epsilon'):
        check_number('the VP process', 'num_train_timesteps', num_train_timesteps, low=2,
                     integer=True)
        self.scheduler = ddpm_scheduler(num_train_timesteps, beta_schedule, prediction_type)
        self.num_train_timesteps = num_train_timesteps
        abar = self.scheduler.alphas_cumprod.double()
        # noise-to-signal ratio of every step, increasing in the step
        self._sigmas = torch.sqrt((1 - abar) / abar).float()

    def step(self, t: torch.Tensor) -> torch.Tensor:
        """The integer step ``round(t (T - 1))`` of the chain."""
        check_unit_time(t)
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

    def t_from_step(self, step: torch.Tensor) -> torch.Tensor:
        return step.float() / (self.num_train_timesteps - 1)

    def model_time(self, t: torch.Tensor) -> torch.Tensor:
        return self.step(t)

    def model_input(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x_t  # unit variance by construction

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        abar = self.scheduler.alphas_cumprod.to(t.device)[self.step(t)]
        return abar / (1 - abar)

    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.scheduler.get_velocity(x0, noise, self.step(t))

    def perturb(self, x0: torch.Tensor, t: torch.Tensor,
                noise: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x_t = self.scheduler.add_noise(x0, noise, self.step(t))
        return x_t, self.marginal(t)[1]


def build_noise_process(cfg: Union[str, dict]) -> Union[VESDE, VPSDE]:
    """``'ve'`` / ``'vp'`` or ``dict(type='ve', sigma_min=..., sigma_max=...)``."""
    cfg = dict(type=cfg) if isinstance(cfg, str) else dict(cfg)
    name = cfg.get('type')
    if not isinstance(name, str) or name not in NOISE_PROCESSES.module_dict:
        raise ValueError(f'unsupported SDE (noise process) {name!r}; expected one of '
                         f"{sorted(NOISE_PROCESSES.module_dict)} ('ve': variance exploding, "
                         "'vp': variance preserving / DDPM)")
    return NOISE_PROCESSES.build(cfg)
