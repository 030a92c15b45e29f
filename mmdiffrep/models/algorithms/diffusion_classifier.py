"""Diffusion Classifier (Li et al., ICCV 2023; survey §3.1.3): zero-shot classification with a
class-conditional diffusion model by its denoising error.

For an image x0, every class c gets the mean noise-prediction error over the SAME (t, noise)
draws, ``E_{t, eps} || eps - eps_theta(x_t, t, c) ||^2``; the prediction is the class with the
lowest error (``pred_score`` = softmax of minus the errors, for top-k metrics). The draws are
fixed by a seed (timesteps evenly spread over the chain, noise from a seeded generator), so the
classes are compared on identical noise. The adaptive schedule spends the draws where they
matter: ``stages=[(None, 8), (2, 24)]`` scores all classes with 8 draws, keeps the 2 best and
adds 24 draws for them only.

An mmpretrain-style classifier: ``tools/test.py`` with the toolbox's ``Accuracy`` works as for
any ``ImageClassifier``; the U-Net forwards per image are logged. Example::

    model = dict(type='mmdiffrep.DiffusionClassifier', pretrained='work_dirs/cond_ddpm_unet',
                 num_classes=6, stages=[(None, 8), (2, 24)],
                 data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                        mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel

from mmdiffrep.diffusion import check_image_size, load_scheduler, load_unet
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import IMAGE_RANGE_HINT, check_finite, check_number
from mmdiffrep.utils.frozen import FrozenHolderMixin, hold_frozen


@MODELS.register_module()
class DiffusionClassifier(FrozenHolderMixin, BaseModel):
    """Classify by the denoising error of a class-conditional U-Net (``num_class_embeds``).

    Args:
        pretrained / unet_cfg / subfolder: the U-Net (as :class:`DiffusionUNet`); its scheduler
            (``scheduler_cfg`` or the folder's) defines ``x_t`` and the prediction type.
        num_classes: classes to score, labels ``0..num_classes-1`` (default: every class
            embedding except a null class of classifier-free guidance, see ``null_label``).
        stages: ``[(keep, draws), ...]``: keep the ``keep`` best classes so far (None: all)
            and add ``draws`` (t, noise) draws for them; default one stage of 32 draws.
        t_range: the timesteps the draws spread over, ``[low, high)``.
        seed: of the shared draws.
        null_label: the U-Net's null class (not scored), if it has one.
        score_temperature: ``pred_score = softmax(-error / temperature)`` (errors of the
            classes differ by ~1e-3; only the ranking matters for top-k accuracy).
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 unet_cfg: Optional[dict] = None,
                 subfolder: Optional[str] = None,
                 num_classes: Optional[int] = None,
                 stages: Sequence[Tuple[Optional[int], int]] = ((None, 32), ),
                 t_range: Tuple[int, int] = (0, 1000),
                 seed: int = 0,
                 null_label: Optional[int] = None,
                 score_temperature: float = 1e-3,
                 scheduler_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        unet = load_unet(pretrained, unet_cfg, subfolder=subfolder)
        table = unet.config.num_class_embeds
        if table is None:
            raise ValueError('DiffusionClassifier needs a class-conditional U-Net '
                             '(num_class_embeds set)')
        self.num_classes = int(num_classes if num_classes is not None
                               else table - (null_label is not None))
        if not 2 <= self.num_classes <= table:
            raise ValueError(f'num_classes={self.num_classes} must be in [2, {table}] (the '
                             'U-Net\'s class embeddings)')
        self.scheduler = load_scheduler(pretrained, scheduler_cfg)
        steps = int(self.scheduler.config.num_train_timesteps)
        if not 0 <= t_range[0] < t_range[1] <= steps:
            raise ValueError(f't_range={tuple(t_range)} must satisfy 0 <= low < high <= {steps}')
        self.stages = [(None if k is None else int(k), int(n)) for k, n in stages]
        for keep, draws in self.stages:
            if draws < 1 or (keep is not None and not 1 <= keep <= self.num_classes):
                raise ValueError(f'stage (keep={keep}, draws={draws}): draws >= 1 and keep in '
                                 f'[1, {self.num_classes}] or None')
        self.t_range, self.seed = tuple(int(v) for v in t_range), seed
        check_number('DiffusionClassifier', 'score_temperature', score_temperature, low=0,
                     low_open=True)
        self.score_temperature = float(score_temperature)
        hold_frozen(self, 'unet', unet, save=pretrained is None)
        self.forwards_per_image: Optional[float] = None

    # -- the shared draws ----------------------------------------------------------------------
    def draws(self, shape, device) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(timesteps (N,), noise (N, C, H, W))`` for all stages, the same for every image
        and class: timesteps evenly spread over ``t_range`` in a seeded order."""
        n = sum(d for _, d in self.stages)
        gen = torch.Generator().manual_seed(self.seed)
        lo, hi = self.t_range
        grid = torch.linspace(lo, hi - 1, n).round().long()
        t = grid[torch.randperm(n, generator=gen)]
        noise = torch.randn((n, ) + tuple(shape), generator=gen)
        return t.to(device), noise.to(device)

    def _eps(self, x_t, t, out):
        if self.scheduler.config.prediction_type == 'epsilon':
            return out
        if self.scheduler.config.prediction_type != 'v_prediction':
            raise ValueError('DiffusionClassifier supports epsilon and v_prediction U-Nets, '
                             f'not {self.scheduler.config.prediction_type!r}')
        abar = self.scheduler.alphas_cumprod.to(x_t.device)[t].view(-1, 1, 1, 1)
        return abar.sqrt() * out + (1 - abar).sqrt() * x_t  # eps from v

    @torch.no_grad()
    def class_errors(self, x0: torch.Tensor, classes: torch.Tensor, t: torch.Tensor,
                     noise: torch.Tensor) -> torch.Tensor:
        """Per image and candidate class, the summed eps-MSE over the given draws: (B, K) for
        ``classes`` (B, K) of label indices."""
        B, K = classes.shape
        errors = torch.zeros(B, K, device=x0.device)
        p = next(self.unet.parameters())
        for ti, eps in zip(t, noise):
            x_t = self.scheduler.add_noise(x0, eps.expand_as(x0), ti.expand(B))
            xs = x_t.repeat_interleave(K, 0).to(p.dtype)
            steps = ti.expand(B * K)
            out = self.unet(xs, steps, class_labels=classes.reshape(-1)).sample.float()
            pred = self._eps(xs.float(), steps, out)
            errors += (pred - eps.expand_as(pred)).pow(2).mean((1, 2, 3)).view(B, K)
        return errors

    @torch.no_grad()
    def scores(self, x0: torch.Tensor) -> torch.Tensor:
        """(B, num_classes) mean errors over each class's draws (classes dropped by a stage:
        +inf, so the prediction is among the classes that saw every stage)."""
        check_image_size(self.unet.module, x0)
        B = x0.shape[0]
        t, noise = self.draws(x0.shape[1:], x0.device)
        candidates = torch.arange(self.num_classes, device=x0.device).expand(B, -1)
        total = torch.zeros(B, self.num_classes, device=x0.device)
        count = torch.zeros(B, self.num_classes, device=x0.device)
        start, forwards = 0, 0
        for keep, n in self.stages:
            if keep is not None and keep < candidates.shape[1]:
                mean = total.gather(1, candidates) / count.gather(1, candidates).clamp(min=1)
                candidates = candidates.gather(1, mean.argsort(1)[:, :keep])
            err = self.class_errors(x0, candidates, t[start:start + n], noise[start:start + n])
            total.scatter_add_(1, candidates, err)
            count.scatter_add_(1, candidates, torch.full_like(err, n))
            forwards += n * candidates.shape[1]
            start += n
        self.forwards_per_image = float(forwards)
        alive = torch.zeros_like(total, dtype=torch.bool).scatter_(1, candidates, True)
        mean = total / count.clamp(min=1)
        return torch.where(alive, mean, torch.full_like(mean, float('inf')))

    # -- the toolbox interface -----------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'predict'):
        if mode == 'loss':
            raise ValueError('DiffusionClassifier is zero-shot: it has nothing to train (test '
                             'it with tools/test.py)')
        x0 = self._to_unet_range(inputs)
        errors = self.scores(x0)
        if mode == 'tensor':
            return errors
        if mode != 'predict':
            raise ValueError(f'invalid mode {mode!r}')
        print_log(f'DiffusionClassifier: {self.forwards_per_image:.0f} U-Net forwards per '
                  f'image (stages {self.stages})', logger='current')
        return self._pack(errors, data_samples, inputs.shape[0], self.score_temperature)

    def _to_unet_range(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.float()
        check_finite(x, 'DiffusionClassifier inputs', bound=1.5, hint=IMAGE_RANGE_HINT)
        return x

    @staticmethod
    def _pack(errors: torch.Tensor, data_samples, batch: int, temperature: float):
        from mmpretrain.structures import DataSample
        samples = data_samples if data_samples is not None else [DataSample()
                                                                 for _ in range(batch)]
        probs = torch.softmax(-errors / temperature, dim=1)
        for sample, p, e in zip(samples, probs, errors):
            sample.set_pred_score(p).set_pred_label(e.argmin().view(1))
        return samples
