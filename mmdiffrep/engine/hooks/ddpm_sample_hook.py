"""Write a PNG grid of samples of a DDPM every N iterations, so a person sees training progress."""
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdiffrep.diffusion.sampling import SAMPLERS
from mmdiffrep.registry import HOOKS
from mmdiffrep.utils.checks import check_number
from mmdiffrep.utils.images import make_grid


@HOOKS.register_module()
class DDPMSampleHook(Hook):
    """Sample ``num_samples`` images with a fixed seed every ``interval`` iterations and at the
    end of training; save ``{work_dir}/samples/iter_{n}.png`` and send the grid to the
    runner's visualizer backends. Uses the EMA weights when an ``EMAHook`` is active (it swaps
    them in around validation / checkpoints only, so here the hook reads them directly).

    Args:
        interval: iterations between grids.
        num_samples: images per grid (a square number looks best).
        steps: DDIM sampling steps.
        seed: fixed noise so grids of different iterations are comparable.
        guidance_scale: classifier-free guidance for DDPMs trained with ``label_dropout``.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 1000, num_samples: int = 36, steps: int = 50,
                 seed: int = 0, sampler: str = 'ddim', guidance_scale: Optional[float] = None):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        check_number('DDPMSampleHook', 'num_samples', num_samples, low=1, integer=True)
        check_number('DDPMSampleHook', 'steps', steps, low=1, integer=True)
        if sampler not in SAMPLERS:
            raise ValueError(f'DDPMSampleHook: unknown sampler {sampler!r}; expected one of '
                             f'{SAMPLERS}')
        if guidance_scale is not None:
            check_number('DDPMSampleHook', 'guidance_scale', guidance_scale, low=0)
        self.interval, self.num_samples, self.steps = interval, num_samples, steps
        self.seed, self.sampler, self.guidance_scale = seed, sampler, guidance_scale

    def _model(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'sample'):
            raise TypeError(f'DDPMSampleHook needs a model with sample(), got {type(model)}')
        for hook in runner.hooks:
            if type(hook).__name__ == 'EMAHook':
                ema = hook.ema_model.module
                return ema if hasattr(ema, 'sample') else model
        return model

    def _write(self, runner, tag: str, step: int) -> Optional[str]:
        if runner.rank != 0:
            return None
        model = self._model(runner)
        was_training = model.training
        model.eval()
        gen = torch.Generator().manual_seed(self.seed)
        kwargs = {} if self.guidance_scale is None else dict(guidance_scale=self.guidance_scale)
        images = model.sample(self.num_samples, steps=self.steps, generator=gen,
                              sampler=self.sampler, **kwargs)
        model.train(was_training)
        grid = make_grid(images)
        out_dir = osp.join(runner.work_dir, 'samples')
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, f'{tag}.png')
        from PIL import Image
        Image.fromarray(grid).save(path)
        runner.visualizer.add_image('samples', grid, step=step)
        runner.logger.info(f'DDPM samples written to {path}')
        return path

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            self._write(runner, f'iter_{runner.iter + 1}', runner.iter + 1)

    def after_train(self, runner):
        if runner.iter % self.interval:
            self._write(runner, f'iter_{runner.iter}', runner.iter)
