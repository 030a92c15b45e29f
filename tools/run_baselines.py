"""Train and evaluate the Shapes baselines of the three toolboxes and print a results table.

    python tools/run_baselines.py [--seeds 0 1 2] [--only cls seg kpt] [--work-dir work_dirs/baselines]

Each run is ``tools/train.py CONFIG`` followed by ``tools/test.py CONFIG last-checkpoint`` on
the test split; the table (Markdown) is also written to ``{work-dir}/results.md``.
"""
import argparse
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from experiments import (markdown_table, mean_std, train_and_test,  # noqa: E402
                         write_table)

BASELINES = {
    'cls': ('mmpretrain', 'configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py',
            'accuracy/top1', 'top-1 acc (%)'),
    'seg': ('mmseg', 'configs/baselines/semfpn_resnet18-cifar_1xb32-1k_shapes-32x32.py', 'mIoU',
            'mIoU (%)'),
    'kpt': ('mmpose', 'configs/baselines/td-hm_resnet18-cifar_1xb64-30e_shapes-32x32.py',
            'coco/AP', 'AP'),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--only', nargs='+', choices=list(BASELINES), default=list(BASELINES))
    parser.add_argument('--work-dir', default='work_dirs/baselines')
    args = parser.parse_args(argv)

    rows = []
    for key in args.only:
        toolbox, config, metric, label = BASELINES[key]
        values, minutes = [], []
        for seed in args.seeds:
            metrics, mins = train_and_test(config, osp.join(args.work_dir, f'{key}_seed{seed}'),
                                           seed)
            values.append(metrics[metric])
            minutes.append(mins)
        rows.append((toolbox, f'`{osp.basename(config)}`', label, mean_std(values), len(values),
                     f'{statistics.mean(minutes):.1f}'))
    table = markdown_table(
        ('toolbox', 'config', 'test metric', 'value', 'seeds', 'train min (CPU)'), rows)
    write_table(args.work_dir, 'results.md', table)
    print('\nShapes baselines (test split):\n' + table)


if __name__ == '__main__':
    main()
