"""Train and evaluate the Shapes baselines of the three toolboxes and print a results table.

    python tools/run_baselines.py [--seeds 0 1 2] [--only cls seg kpt] [--work-dir work_dirs/baselines]
    python tools/run_baselines.py --doubled ...   # + the convergence check: twice the schedule

Each run is ``tools/train.py CONFIG`` followed by ``tools/test.py CONFIG CHECKPOINT`` on the
test split, CHECKPOINT being the best-val one; the table (Markdown) is also written to
``{work-dir}/results.md``. With ``--doubled`` every baseline is also trained with its whole
schedule (iterations or epochs, and the LR schedule's length) doubled, and the table gains the
doubled run's metric and the gain: a converged baseline gains < 1 point.
"""
import argparse
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from experiments import (in_points, markdown_table, mean_std,  # noqa: E402
                         train_and_test, write_table)

BASELINES = {
    'cls': ('mmpretrain', 'configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py',
            'accuracy/top1', 'top-1 acc (%)'),
    'seg': ('mmseg', 'configs/baselines/semfpn_resnet18-cifar_1xb32-1k_shapes-32x32.py', 'mIoU',
            'mIoU (%)'),
    'kpt': ('mmpose', 'configs/baselines/td-hm_resnet18-cifar_1xb64-30e_shapes-32x32.py',
            'coco/AP', 'AP x 100'),
}

#: per baseline: the ``--cfg-options`` that double its schedule (length, LR decay, evaluations)
DOUBLED = {
    'cls': ['train_cfg.max_epochs=60', 'param_scheduler.0.total_steps=1920',
            'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=10'],
    'seg': ['train_cfg.max_iters=2000', 'param_scheduler.1.end=2000',
            'train_cfg.val_interval=500', 'default_hooks.checkpoint.interval=500'],
    'kpt': ['train_cfg.max_epochs=60', 'param_scheduler.1.T_max=60',
            'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=10'],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--only', nargs='+', choices=list(BASELINES), default=list(BASELINES))
    parser.add_argument('--work-dir', default='work_dirs/baselines')
    parser.add_argument('--doubled', action='store_true',
                        help='also train with twice the schedule (the convergence check)')
    parser.add_argument('--reuse', action='store_true',
                        help='reuse finished runs of the same config, seed and options')
    args = parser.parse_args(argv)

    rows = []
    for key in args.only:
        toolbox, config, metric, label = BASELINES[key]
        values, minutes, doubled = [], [], []
        for seed in args.seeds:
            metrics, mins = train_and_test(config, osp.join(args.work_dir, f'{key}_seed{seed}'),
                                           seed, reuse=args.reuse)
            values.append(in_points(metric, metrics[metric]))
            minutes.append(mins)
            if args.doubled:
                metrics, _ = train_and_test(config,
                                            osp.join(args.work_dir, f'{key}_2x_seed{seed}'),
                                            seed, DOUBLED[key], reuse=args.reuse)
                doubled.append(in_points(metric, metrics[metric]))
        row = [toolbox, f'`{osp.basename(config)}`', label, mean_std(values)]
        if args.doubled:
            gains = [d - v for d, v in zip(doubled, values)]
            row += [mean_std(doubled), mean_std(gains)]
        rows.append((*row, len(values), f'{statistics.mean(minutes):.1f}'))
    header = ['toolbox', 'config', 'test metric', 'value']
    if args.doubled:
        header += ['value, schedule x2', 'gain of x2']
    table = markdown_table((*header, 'seeds', 'train min (CPU)'), rows)
    write_table(args.work_dir, 'results.md', table)
    print('\nShapes baselines (test split):\n' + table)


if __name__ == '__main__':
    main()
