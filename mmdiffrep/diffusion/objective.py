"""The one denoising objective of mmdiffrep: noise process, time sampling, prediction target,
weighting and reduction.

Every algorithm that trains a denoiser uses :class:`DenoisingObjective`: DDPM is the objective +
a U-Net, DRL the objective + an encoder-conditioned U-Net (and the alignment / guidance /
representation-conditioned models build on it the same way). One training term::

    t = objective.sample_time(batch, device)           # continuous t in [0, 1]
    loss = objective.loss(x0, t, lambda x_in, t_in: unet(x_in, t_in).sample)

draws the noise, builds ``x_t`` with the process, asks the denoiser for its prediction of the
configured target and returns the weighted, reduced mean-squared error.

Vocabulary (the same words mean the same thing everywhere):

* ``process``: ``'vp'`` (the discrete DDPM chain of diffusers' ``DDPMScheduler``,
  ``beta_schedule='linear' | 'scaled_linear' | 'cosine'``) or ``'ve'`` (``sigma_min``,
  ``sigma_max``), see :mod:`.noise_processes`.
* ``time_sampling``: ``'discrete'`` (an integer step uniform over the VP chain, as DDPM),
  ``'uniform_t'`` (t ~ U[t_min, t_max]) or ``'uniform_sigma'`` (the noise level sigma uniform,
  DRL's high-noise focus).
* ``prediction``: ``'epsilon'`` | ``'v_prediction'`` | ``'sample'``.
* ``weighting``: a factor on each image's squared error: ``'none'`` (1: the plain MSE of the
  target; for epsilon targets this is the score-matching weighting lambda = sigma^2, which DRL
  called ``'sigma2'``), ``'min_snr'`` (Min-SNR-gamma, Hang et al. 2023), ``'score'`` (lambda = 1:
  the eps-MSE divided by std^2, which DRL called ``'uniform'``) or ``dict(t=[...],
  weight=[...])`` (a piecewise-linear factor in t).
* ``reduction``: ``'mean'`` over pixels (DDPM) or ``'sum'`` (score_sde's ``reduce_mean=False``,
  DRL); always averaged over the batch.
"""
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

from mmdiffrep.utils.checks import check_number
from .noise_processes import build_noise_process

PREDICTIONS = ('epsilon', 'v_prediction', 'sample')
TIME_SAMPLINGS = ('discrete', 'uniform_t', 'uniform_sigma')
WEIGHTINGS = ('none', 'min_snr', 'score')
REDUCTIONS = ('mean', 'sum')
#: old spellings -> the new one (None: ambiguous, an error names both meanings)
WEIGHTING_ALIASES = {'sigma2': 'none', 'uniform': None}


class TimeSampling:
    """Draws the diffusion time t in [0, 1] per image (see the module docstring)."""

    def __init__(self, process, type: str = 'uniform_t', t_min: float = 0.0, t_max: float = 1.0,
                 arg: str = 'time_sampling'):
        if type not in TIME_SAMPLINGS:
            raise ValueError(f'unknown {arg} type {type!r}; expected one of {TIME_SAMPLINGS}')
        if type == 'discrete' and not hasattr(process, 'num_train_timesteps'):
            raise ValueError("time sampling 'discrete' draws steps of a VP chain; the "
                             f"{process.name!r} process is continuous: use 'uniform_t'")
        if not 0 <= t_min < t_max <= 1:
            raise ValueError(f'time sampling range needs 0 <= t_min < t_max <= 1, got '
                             f't_min={t_min}, t_max={t_max}')
        self.process, self.type = process, type
        self.t_min, self.t_max = float(t_min), float(t_max)

    def __call__(self, n: int, device) -> torch.Tensor:
        if self.type == 'discrete':
            steps = self.process.num_train_timesteps
            lo = round(self.t_min * (steps - 1))
            hi = round(self.t_max * (steps - 1)) + 1
            return self.process.t_from_step(torch.randint(lo, hi, (n, ), device=device))
        u = torch.rand(n, device=device)
        if self.type == 'uniform_t':
            return self.t_min + (self.t_max - self.t_min) * u
        ends = self.process.sigma(torch.tensor([self.t_min, self.t_max], device=device))
        sigma = ends[0] + (ends[1] - ends[0]) * u
        return self.process.t_from_sigma(sigma).clamp(self.t_min, self.t_max)


class Weighting:
    """The factor on each image's squared error (see the module docstring)."""

    def __init__(self, cfg: Union[str, dict] = 'none', min_snr_gamma: float = 5.0,
                 arg: str = 'weighting'):
        check_number('the loss weighting', 'min_snr_gamma', min_snr_gamma, low=0, low_open=True)
        self.gamma = float(min_snr_gamma)
        if isinstance(cfg, str):
            if cfg in WEIGHTING_ALIASES:
                if WEIGHTING_ALIASES[cfg] is None:
                    raise ValueError(
                        f"{arg} {cfg!r} is ambiguous (DDPM used it for the plain MSE, DRL "
                        "for lambda = 1); write 'none' (plain MSE of the target) or 'score' "
                        '(eps-MSE / std^2)')
                cfg = WEIGHTING_ALIASES[cfg]
            if cfg not in WEIGHTINGS:
                raise ValueError(f'unknown {arg} {cfg!r}; expected one of {WEIGHTINGS} or '
                                 'dict(t=[...], weight=[...])')
            self.kind, self.knots = cfg, None
            return
        knots_t, weight = [float(v) for v in cfg['t']], [float(v) for v in cfg['weight']]
        if len(knots_t) != len(weight) or len(knots_t) < 2 or knots_t != sorted(knots_t):
            raise ValueError('a weighting curve needs increasing t and weight lists of the same '
                             f'length >= 2, got t={knots_t}, weight={weight}')
        self.kind, self.knots = 'curve', (torch.tensor(knots_t), torch.tensor(weight))

    def __call__(self, per_image: torch.Tensor, t: torch.Tensor, process,
                 prediction: str) -> torch.Tensor:
        if self.kind == 'none':
            return per_image
        if self.kind == 'min_snr':  # min(SNR, gamma) in the x0-loss scale
            snr = process.snr(t)
            scale = {'epsilon': snr, 'v_prediction': snr + 1,
                     'sample': torch.ones_like(snr)}[prediction]
            return per_image * torch.clamp(snr, max=self.gamma) / scale
        if self.kind == 'score':
            std = process.marginal(t)[1]
            return per_image * (1 / std.clamp(min=1e-4) ** 2)
        xs, ys = (k.to(t.device) for k in self.knots)
        tc = t.clamp(xs[0], xs[-1])
        i = torch.searchsorted(xs, tc.contiguous(), right=True).clamp(1, len(xs) - 1)
        frac = (tc - xs[i - 1]) / (xs[i] - xs[i - 1])
        return per_image * (ys[i - 1] + frac * (ys[i] - ys[i - 1]))


class DenoisingObjective:
    """Denoising score matching with one vocabulary for every algorithm.

    Args:
        process: ``'vp'`` / ``'ve'`` or a dict with the process's arguments.
        time_sampling: ``dict(type=..., t_min=..., t_max=...)`` or a type name; default
            ``'discrete'`` for VP, ``'uniform_t'`` for VE.
        prediction: the denoiser's target.
        weighting: per-image factor (name or curve dict).
        min_snr_gamma: gamma of ``'min_snr'``.
        reduction: ``'mean'`` or ``'sum'`` over pixels.
        arg_names: how the owner's config spells ``prediction`` / ``weighting`` (for errors).

    Example:
        >>> obj = DenoisingObjective(dict(type='vp', beta_schedule='cosine'),
        ...                          prediction='v_prediction', weighting='min_snr')
        >>> t = obj.sample_time(8, 'cpu')
        >>> loss = obj.loss(x0, t, lambda x, s: unet(x, s).sample)  # doctest: +SKIP
    """

    def __init__(self,
                 process: Union[str, dict] = 'vp',
                 time_sampling: Union[str, dict, None] = None,
                 prediction: str = 'epsilon',
                 weighting: Union[str, dict] = 'none',
                 min_snr_gamma: float = 5.0,
                 reduction: str = 'mean',
                 arg_names: Optional[dict] = None):
        names = dict(dict(prediction='prediction', weighting='weighting',
                          time_sampling='time_sampling'), **(arg_names or {}))
        if prediction not in PREDICTIONS:
            raise ValueError(f'unknown {names["prediction"]} {prediction!r}; expected one of '
                             f'{PREDICTIONS}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'unknown reduction {reduction!r}; expected one of {REDUCTIONS}')
        if prediction != 'epsilon':
            process = dict(type=process) if isinstance(process, str) else dict(process)
            if process.get('type') == 'vp':  # the scheduler's samplers read it
                process.setdefault('prediction_type', prediction)
        self.process = build_noise_process(process)
        if time_sampling is None:
            time_sampling = 'discrete' if self.process.name == 'vp' else 'uniform_t'
        if isinstance(time_sampling, str):
            time_sampling = dict(type=time_sampling)
        self.time_sampling = TimeSampling(self.process, **dict(time_sampling),
                                          arg=names['time_sampling'])
        self.prediction, self.reduction = prediction, reduction
        self.weighting = Weighting(weighting, min_snr_gamma, names['weighting'])

    def sample_time(self, n: int, device) -> torch.Tensor:
        """Times t in [0, 1] for ``n`` images."""
        return self.time_sampling(n, device)

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.prediction == 'epsilon':
            return noise
        if self.prediction == 'v_prediction':
            return self.process.velocity(x0, noise, t)
        return x0

    def loss(self, x0: torch.Tensor, t: torch.Tensor,
             denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The batch-mean weighted error of ``denoiser(model_input, model_time)`` against the
        target, for clean images ``x0`` at times ``t`` (noise drawn here unless given)."""
        if noise is None:
            noise = torch.randn_like(x0)
        x_t, _ = self.process.perturb(x0, t, noise)
        pred = denoiser(self.process.model_input(x_t, t), self.process.model_time(t))
        target = self.target(x0, noise, t)
        if self.reduction == 'mean':
            per_image = F.mse_loss(pred.float(), target.float(),
                                   reduction='none').mean(tuple(range(1, x0.dim())))
        else:
            per_image = (pred.float() - target.float()).pow(2).sum(tuple(range(1, x0.dim())))
        return self.weighting(per_image, t, self.process, self.prediction).mean()
