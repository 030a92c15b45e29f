"""The label-efficiency curve: test metric against the labelled fraction, one line per method
(mean ± std over seeds), from the run folders ``tools/run_repfusion.py`` leaves.

    python tools/analysis/plot_label_efficiency.py work_dirs/protocol_cls \
        work_dirs/protocol_cls_policy work_dirs/protocol_cls_drl --task cls \
        --out docs/label_efficiency_cls.png

Every ``{task}_{regime}_{method}_seed{n}/test/test_metrics.json`` under the given folders is
read once (folders reached through symlinks count once). A run counts only if its
``run_record.json`` carries the protocol's current options for its (task, regime)
(``experiments.regime_options``): runs of an older schedule or of ``--doubled`` are listed as
skipped, not mixed in. Prints the table it plots.
"""
import argparse
import glob
import json
import os.path as osp
import re
import statistics
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
sys.path.insert(0, osp.dirname(HERE))
from experiments import REGIMES, in_points, mean_std, regime_options  # noqa: E402
from run_repfusion import METHODS, TASKS  # noqa: E402

from mmdiffrep.datasets.shapes import CLASSES  # noqa: E402
from mmdiffrep.utils.plotting import pyplot, save_figure  # noqa: E402

#: labelled share of the training split per regime, in %
PERCENT = {'1pct': 1, '10pct': 10, 'full': 100}
RUN = re.compile(r'^(?P<task>[a-z]+)_(?P<regime>[0-9a-z]+)_(?P<method>[a-z0-9-]+)'
                 r'_seed(?P<seed>\d+)$')


def collect(folders, task):
    """``({(regime, method): {seed: value}}, [skipped run folders with the reason])``."""
    metric = TASKS[task][1]
    values, skipped, seen = {}, [], set()
    for folder in folders:
        for path in sorted(glob.glob(osp.join(folder, '*', 'test', 'test_metrics.json'))):
            run_dir = osp.dirname(osp.dirname(path))
            match = RUN.match(osp.basename(run_dir))
            if not match or match['task'] != task or osp.realpath(run_dir) in seen:
                continue
            seen.add(osp.realpath(run_dir))
            regime, method, seed = match['regime'], match['method'], int(match['seed'])
            if regime not in REGIMES or method not in METHODS:
                skipped.append((run_dir, f'not a protocol regime / method ({regime}, {method})'))
                continue
            record = osp.join(run_dir, 'run_record.json')
            options = None
            if osp.exists(record):
                with open(record) as f:
                    options = json.load(f)['cfg_options']
            protocol = regime_options(task, regime)
            if options is None or options[:len(protocol)] != protocol:
                skipped.append((run_dir, 'not the protocol\'s current schedule'))
                continue
            with open(path) as f:
                values.setdefault((regime, method), {})[seed] = in_points(metric,
                                                                          json.load(f)[metric])
    return values, skipped


def plot(values, task, out):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    methods = [m for m in METHODS if any(m == key[1] for key in values)]
    for i, method in enumerate(methods):
        regimes = [r for r in PERCENT if (r, method) in values]
        runs = [list(values[(r, method)].values()) for r in regimes]
        means = [statistics.mean(v) for v in runs]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in runs]
        # a small horizontal offset per method keeps overlapping error bars readable
        xs = [PERCENT[r] * 1.04 ** (i - (len(methods) - 1) / 2) for r in regimes]
        ax.errorbar(xs, means, yerr=stds, marker='o', capsize=3, label=METHODS[method])
    if task == 'cls':
        ax.axhline(100 / len(CLASSES), color='grey', linestyle=':', label='chance')
    ax.set_xscale('log')
    ax.set_xticks(list(PERCENT.values()))
    ax.set_xticklabels([f'{p} %' for p in PERCENT.values()])
    ax.set_xlabel('labelled training images')
    ax.set_ylabel(f'test {TASKS[task][2]} (best-val checkpoint)')
    ax.set_title(f'Shapes {task}: label efficiency (mean ± std over seeds)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('folders', nargs='+', help='work dirs of tools/run_repfusion.py')
    parser.add_argument('--task', choices=list(TASKS), default='cls')
    parser.add_argument('--out', default=None, help='PNG (default: the first folder)')
    args = parser.parse_args(argv)
    values, skipped = collect(args.folders, args.task)
    if not values:
        raise SystemExit(f'no {args.task} runs of the protocol under {args.folders} '
                         f'(skipped: {len(skipped)})')
    print('| labels | method | value | seeds |\n|---|---|---|---|')
    order = list(METHODS)
    for (regime, method), by_seed in sorted(
            values.items(), key=lambda kv: (PERCENT[kv[0][0]], order.index(kv[0][1]))):
        seeds = sorted(by_seed)
        print(f'| {regime} | {METHODS[method]} | {mean_std([by_seed[s] for s in seeds])} '
              f'| {", ".join(map(str, seeds))} |')
    for run_dir, why in skipped:
        print(f'skipped {run_dir}: {why}')
    out = plot(values, args.task,
               args.out or osp.join(args.folders[0], f'label_efficiency_{args.task}.png'))
    print(f'written: {out}')
    return values


if __name__ == '__main__':
    main()
