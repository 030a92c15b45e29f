"""Hooks for a distillation model's timestep sampler: decay the learned policy's entropy bonus,
and draw which timesteps were sampled over training (a timestep x progress heatmap PNG)."""
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdiffrep.registry import HOOKS
from mmdiffrep.utils.checks import check_number
from mmdiffrep.utils.recorder import OutputRecorder


def _sampler(runner):
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    sampler = getattr(model, 'timestep_sampler', None)
    if sampler is None:
        raise TypeError(f'{type(model).__name__} has no timestep_sampler (a RepFusion model)')
    return sampler.module if is_model_wrapper(sampler) else sampler


def _drawn_timesteps(output):
    """A sampler's draw (its ``t`` or ``(t, index)``); None for a learned policy's losses."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple):
        return output[0]
    return None


@HOOKS.register_module()
class EntropyDecayHook(Hook):
    """Linearly decay ``timestep_sampler.entropy_coef`` from its initial value to ``final`` at
    ``end`` (epochs if ``by_epoch`` else iterations), then hold it (RepFusion: 0.1 -> 0 at
    epoch 100). The value follows from the progress alone, so a resumed run continues it."""
    priority = 'ABOVE_NORMAL'

    def __init__(self, end: int, by_epoch: bool = True, final: float = 0.0):
        if end < 1:
            raise ValueError(f'EntropyDecayHook end must be >= 1, got {end}')
        check_number('EntropyDecayHook', 'final', final, low=0)  # a negative entropy bonus
        self.end, self.by_epoch, self.final = end, by_epoch, final

    def coef(self, start: float, progress: int) -> float:
        frac = min(progress / self.end, 1.0)
        return start + (self.final - start) * frac

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        sampler = _sampler(runner)
        if not getattr(sampler, 'learned', False):
            return
        progress = runner.epoch if self.by_epoch else runner.iter
        sampler.entropy_coef = self.coef(sampler.entropy_coef_init, progress)
        runner.message_hub.update_scalar('train/entropy_coef', sampler.entropy_coef)


@HOOKS.register_module()
class TimestepPolicyVisHook(Hook):
    """Histogram the sampled timesteps per ``interval`` (epochs if ``by_epoch`` else
    iterations) and write ``{work_dir}/timestep_policy.png``: timestep (rows, ``bins`` bins)
    x training progress (columns), colour = share of the images. The timesteps are the
    sampler's forward outputs, read with the package's recorder during training. The histograms
    are saved in checkpoints so a resumed run keeps its picture."""
    priority = 'LOW'

    def __init__(self, interval: int = 1, by_epoch: bool = True, bins: int = 50,
                 filename: str = 'timestep_policy.png'):
        check_number('TimestepPolicyVisHook', 'interval', interval, low=1, integer=True)
        check_number('TimestepPolicyVisHook', 'bins', bins, low=1, integer=True)
        self.interval, self.by_epoch, self.bins, self.filename = interval, by_epoch, bins, filename
        self.columns, self.current = [], None
        self.path: Optional[str] = None
        self._recorder = None

    def before_train(self, runner) -> None:
        self._recorder = OutputRecorder({'t': _sampler(runner)}, transform=_drawn_timesteps)
        self._recorder.__enter__()

    def _hist(self, t: torch.Tensor, num_train: int) -> torch.Tensor:
        """Counts per timestep bin, on the timesteps' device (no host sync per iteration)."""
        idx = (t.long() * self.bins // num_train).clamp(0, self.bins - 1)
        return torch.bincount(idx, minlength=self.bins).double()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        t = self._recorder.outputs.pop('t', None) if self._recorder is not None else None
        if t is None:
            return
        h = self._hist(t.detach(), _sampler(runner).num_train_timesteps)
        self.current = h if self.current is None else self.current.to(h.device) + h
        if not self.by_epoch and self.every_n_train_iters(runner, self.interval):
            self._close_column(runner)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self._close_column(runner)

    def after_train(self, runner) -> None:
        if self._recorder is not None:
            self._recorder.__exit__(None, None, None)
            self._recorder = None
        if self.current is not None:
            self._close_column(runner)

    def _close_column(self, runner):
        if self.current is None:
            return
        counts = self.current.cpu().numpy()
        self.columns.append(counts / max(counts.sum(), 1))
        self.current = None
        if runner.rank == 0:
            self.path = self.draw(runner.work_dir, _sampler(runner).num_train_timesteps,
                                  'epoch' if self.by_epoch else 'iteration')

    def draw(self, out_dir: str, num_train: int, unit: str) -> str:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        data = np.stack(self.columns, 1)
        fig, ax = plt.subplots(figsize=(max(4, 0.25 * data.shape[1] + 3), 4))
        im = ax.imshow(data, aspect='auto', origin='lower', cmap='magma',
                       extent=(0.5, data.shape[1] + 0.5, 0, num_train))
        ax.set_xlabel(f'{unit} (x{self.interval})')
        ax.set_ylabel('timestep t')
        ax.set_title('share of images per sampled timestep')
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, self.filename)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['timestep_policy_hist'] = dict(
            columns=[c.tolist() for c in self.columns],
            current=None if self.current is None else self.current.tolist())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('timestep_policy_hist')
        if state:
            self.columns = [np.asarray(c) for c in state['columns']]
            self.current = None if state['current'] is None else torch.tensor(
                state['current'], dtype=torch.float64)
