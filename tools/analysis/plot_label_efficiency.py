"""The label-efficiency curve: test metric against the labelled fraction, one line per method
(mean ± std over seeds), from the run folders ``tools/run_repfusion.py`` leaves or from the
tables it wrote (``results.md``, kept under ``docs/results/``).

    python tools/analysis/plot_label_efficiency.py work_dirs/protocol_cls \
        work_dirs/protocol_cls_policy work_dirs/protocol_cls_drl --task cls \
        --out docs/label_efficiency_cls.png
    python tools/analysis/plot_label_efficiency.py --task seg \
        --tables docs/results/protocol_seg_1pct.md docs/results/protocol_seg_10pct.md \
        --out docs/label_efficiency_seg.png

Every ``{task}_{regime}_{method}_seed{n}/test/test_metrics.json`` under the given folders is
read once (folders reached through symlinks count once). A run counts only if its
``run_record.json`` carries the protocol's current options for its (task, regime)
(``experiments.regime_options``): runs of an older or a longer schedule (``--doubled``) are
listed as skipped, not mixed in. A table row gives its mean ± std directly (runs whose
folders are gone still count); a (regime, method) given twice, by two tables or by a table
and runs, is an error. Prints the table it plots.
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
from experiments import REGIMES, in_points, regime_options  # noqa: E402
from run_repfusion import LONGER_SCHEDULE, METHODS, TASKS  # noqa: E402

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


def summarise(values, source):
    """Per-seed run values -> ``{(regime, method): (mean, std, seeds, source)}``."""
    stats = {}
    for key, by_seed in values.items():
        v = list(by_seed.values())
        stats[key] = (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v),
                      source)
    return stats


VALUE = re.compile(r'^(?P<mean>-?\d+(?:\.\d+)?)(?: ± (?P<std>\d+(?:\.\d+)?))?$')


#: what tools/run_repfusion.py writes under a ``--doubled`` / ``--schedule-factor`` table
LONGER = re.compile(LONGER_SCHEDULE)


def read_tables(paths, task):
    """``{(regime, method): (mean, std, seeds, path)}`` from the rows of ``task`` in tables
    that ``tools/run_repfusion.py`` wrote (columns task | toolbox | labels | backbone |
    metric | value | seeds | ...). A row given again with the same mean, std and seeds (the
    same runs re-tabulated, e.g. the scratch row next to each method's) is read once; a table
    of a longer schedule (``--doubled``, ``--schedule-factor``), unknown regimes or methods,
    or a row given twice with other values raise."""
    methods = {label: name for name, label in METHODS.items()}
    stats = {}
    for path in paths:
        with open(path) as f:
            text = f.read()
        if LONGER.search(text):
            raise ValueError(f'{path}: a table of a longer schedule (--doubled or '
                             '--schedule-factor, a convergence check), not the protocol\'s')
        rows = [[c.strip() for c in line.strip().strip('|').split('|')]
                for line in text.splitlines() if line.startswith('|')]
        if not rows or rows[0][:4] != ['task', 'toolbox', 'labels', 'backbone']:
            raise ValueError(f'{path}: not a results table of tools/run_repfusion.py (its first '
                             'columns must be task | toolbox | labels | backbone)')
        for row in rows[2:]:
            if row[0] != task:
                continue
            regime, label, value, seeds = row[2], row[3], row[5], row[6]
            if regime not in REGIMES or label not in methods:
                raise ValueError(f'{path}: row {row[:4]}: regime must be one of '
                                 f'{list(REGIMES)} and backbone one of {list(methods)}')
            match = VALUE.match(value)
            if not match:
                raise ValueError(f'{path}: row {row[:4]}: value {value!r} is not "mean ± std"')
            key = (regime, methods[label])
            new = (float(match['mean']), float(match['std'] or 0.0), int(seeds))
            if key in stats:
                if stats[key][:3] != new:
                    raise ValueError(f'{key} is given by both {stats[key][3]} '
                                     f'{stats[key][:3]} and {path} {new}')
                continue
            stats[key] = (*new, path)
    return stats


def plot(stats, task, out):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    methods = [m for m in METHODS if any(m == key[1] for key in stats)]
    for i, method in enumerate(methods):
        regimes = [r for r in PERCENT if (r, method) in stats]
        means = [stats[(r, method)][0] for r in regimes]
        stds = [stats[(r, method)][1] for r in regimes]
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
    parser.add_argument('folders', nargs='*', help='work dirs of tools/run_repfusion.py')
    parser.add_argument('--tables', nargs='+', default=[],
                        help='results tables tools/run_repfusion.py wrote (results.md)')
    parser.add_argument('--task', choices=list(TASKS), default='cls')
    parser.add_argument('--out', default=None, help='PNG (default: the first folder)')
    args = parser.parse_args(argv)
    if not args.folders and not args.tables:
        parser.error('give run folders, --tables, or both')
    values, skipped = collect(args.folders, args.task)
    stats = read_tables(args.tables, args.task)
    for key, run_stats in summarise(values, 'runs').items():
        if key in stats:
            raise ValueError(f'{key} is given by both {stats[key][3]} and runs under '
                             f'{args.folders}: pass one of them')
        stats[key] = run_stats
    if not stats:
        raise SystemExit(f'no {args.task} results of the protocol under {args.folders} '
                         f'{args.tables} (skipped runs: {len(skipped)})')
    print('| labels | method | value | seeds | from |\n|---|---|---|---|---|')
    order = list(METHODS)
    for (regime, method), (mean, std, n, source) in sorted(
            stats.items(), key=lambda kv: (PERCENT[kv[0][0]], order.index(kv[0][1]))):
        value = f'{mean:.2f} ± {std:.2f}' if n > 1 else f'{mean:.2f}'
        print(f'| {regime} | {METHODS[method]} | {value} | {n} | {source} |')
    for run_dir, why in skipped:
        print(f'skipped {run_dir}: {why}')
    out = plot(stats, args.task, args.out or osp.join(
        args.folders[0] if args.folders else '.', f'label_efficiency_{args.task}.png'))
    print(f'written: {out}')
    return stats


if __name__ == '__main__':
    main()
