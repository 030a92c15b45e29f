"""Train a model from an mmdiffrep, mmpretrain, mmseg or mmpose config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
    bash tools/dist_train.sh CONFIG NUM_PROCS [args...]   # torchrun, one process per device

The default scope comes from the config (``default_scope = 'mmseg'`` etc.); mmdiffrep
components resolve from any scope as ``type='mmdiffrep.Name'``.
"""
import argparse
import glob
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmdiffrep.utils import register_all_modules  # noqa: E402
from mmdiffrep.utils.config import (check_data_roots, cpu_friendly_dist_backend,  # noqa: E402
                                    resumable_checkpoint, set_work_dir, shutdown_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or, without a value, from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--overwrite', action='store_true',
                        help='start a new run in a work dir that holds an earlier run\'s '
                        'checkpoints (they are replaced as the new run saves)')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, as key=value pairs (xxx=yyy)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (newer) or --local_rank (older)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Apply the command-line switches to the config (the OpenMMLab conventions)."""
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    if args.amp:
        from mmengine.device import get_device
        if get_device() == 'cpu':
            raise RuntimeError('--amp needs an accelerator (mmengine\'s AmpOptimWrapper runs on '
                               'GPU/NPU/MLU/MUSA only); this machine has none, train without '
                               '--amp')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(f'--amp needs optim_wrapper.type="OptimWrapper", '
                                 f'got {optim_wrapper!r}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume is None and not args.overwrite and (
            glob.glob(osp.join(cfg.work_dir, '*.pth'))
            or osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint'))):
        raise FileExistsError(f'{cfg.work_dir!r} holds the checkpoints of an earlier run; '
                              '--resume to continue it, --overwrite to start a new one there, '
                              'or choose another --work-dir')
    if args.resume == 'auto':
        found = glob.glob(osp.join(cfg.work_dir, '*.pth')) or \
            osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint'))
        if not found:  # mmengine would silently train from scratch
            raise FileNotFoundError(f'--resume: nothing to resume in {cfg.work_dir!r} (no '
                                    'last_checkpoint, no *.pth); run without --resume to start '
                                    'a new training, or give --resume CHECKPOINT')
        ckpt = resumable_checkpoint(cfg.work_dir)
        if ckpt is None:
            raise FileNotFoundError(f'--resume: no checkpoint in {cfg.work_dir!r} can be '
                                    'loaded (see above)')
        cfg.resume = True
        cfg.load_from = ckpt  # the named one, or the newest loadable
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint {args.resume!r} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr.base_batch_size` in the '
                             'config')
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # under DDP every rank must draw its own timesteps, noise and augmentations (mmengine's
    # default gives all ranks the same seed); the data sampler stays in sync either way
    if cfg.launcher != 'none':
        cfg.randomness = dict(cfg.get('randomness') or {})
        cfg.randomness.setdefault('diff_rank_seed', True)
    # exact --resume: the generators' states travel in every checkpoint
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('RandomStateHook') for h in hooks):
        hooks.append(dict(type='mmdiffrep.RandomStateHook'))
    # a NaN / inf loss stops the run instead of writing NaN weights into the checkpoints
    if not any(str(h.get('type', '')).endswith('FiniteLossHook') for h in hooks):
        hooks.append(dict(type='mmdiffrep.FiniteLossHook'))
    cfg.custom_hooks = hooks
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    check_data_roots(cfg)
    cpu_friendly_dist_backend(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
