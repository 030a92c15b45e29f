"""Train and evaluate the Shapes baselines of the three toolboxes and print a results table.

    python tools/run_baselines.py [--seeds 0 1 2] [--only cls seg kpt] [--work-dir work_dirs/baselines]

Each run is ``tools/train.py CONFIG`` followed by ``tools/test.py CONFIG last-checkpoint`` on
the test split; the table (Markdown) is also written to ``{work-dir}/results.md``.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINES = {
    'cls': ('mmpretrain', 'configs/baselines/cls_resnet18-cifar_1xb64-30e_shapes-32x32.py',
            'accuracy/top1', 'top-1 acc (%)'),
    'seg': ('mmseg', 'configs/baselines/semfpn_resnet18-cifar_1xb32-1k_shapes-32x32.py', 'mIoU',
            'mIoU (%)'),
    'kpt': ('mmpose', 'configs/baselines/td-hm_resnet18-cifar_1xb64-30e_shapes-32x32.py',
            'coco/AP', 'AP'),
}


def run(cmd):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


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
            work = osp.join(args.work_dir, f'{key}_seed{seed}')
            start = time.time()
            run([sys.executable, 'tools/train.py', config, '--work-dir', work,
                 '--cfg-options', f'randomness.seed={seed}'])
            minutes.append((time.time() - start) / 60)
            ckpt = open(osp.join(ROOT, work, 'last_checkpoint')).read().strip()
            run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
                 osp.join(work, 'test')])
            with open(osp.join(ROOT, work, 'test', 'test_metrics.json')) as f:
                values.append(json.load(f)[metric])
        mean = statistics.mean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append((toolbox, config, label, mean, std, len(values), statistics.mean(minutes)))

    lines = ['| toolbox | config | test metric | value | seeds | train min (CPU) |',
             '|---|---|---|---|---|---|']
    for toolbox, config, label, mean, std, n, mins in rows:
        value = f'{mean:.2f} ± {std:.2f}' if n > 1 else f'{mean:.2f}'
        lines.append(f'| {toolbox} | `{osp.basename(config)}` | {label} | {value} | {n} | '
                     f'{mins:.1f} |')
    table = '\n'.join(lines)
    os.makedirs(osp.join(ROOT, args.work_dir), exist_ok=True)
    with open(osp.join(ROOT, args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print('\nShapes baselines (test split):\n' + table)


if __name__ == '__main__':
    main()
