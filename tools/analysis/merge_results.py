"""Merge the per-seed results of several ``tools/run_repfusion.py`` tables into one table.

    python tools/analysis/merge_results.py docs/results/protocol_seg_full.md \
        docs/results/protocol_seg_full_drl.md work_dirs/protocol_kpt_seg/results.md \
        --methods scratch repfusion drl --out merged.md

Why: the runner tabulates the runs of one invocation, and ``--reuse`` / ``--table-only`` need
the runs' folders. When the seeds of a row were run at different times or on different
machines (and the earlier folders are gone), their published per-seed lines
(``- seg, full, student from scratch, seed 0: test 83.58; val ...``) are still the measurement.
This tool reads those lines, never the summary rows, and recomputes mean ± std per (task,
regime, method) over the seeds found. The same seed given twice with the same test value (a
run re-tabulated) counts once; with another value it is an error, as is mixing tables of
different fine-tuning schedules (the protocol's, ``--doubled``, ``--schedule-factor N``). Test
values are those the lines print (two decimals), so a mean can differ from the runner's own,
computed unrounded, in the last digit. The output lists every seed's line and the file it
came from; the plot tool (``plot_label_efficiency.py --tables``) reads it like a runner table.
"""
import argparse
import os.path as osp
import re
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
sys.path.insert(0, osp.dirname(HERE))
from experiments import markdown_table, mean_std  # noqa: E402
from run_repfusion import LONGER_SCHEDULE, METHODS, TASKS  # noqa: E402

#: what tools/experiments.per_run_lines writes per run
SEED_LINE = re.compile(r'^- (?P<task>[a-z]+), (?P<regime>[0-9a-z]+), (?P<label>.+), '
                       r'seed (?P<seed>\d+): test (?P<test>-?\d+(?:\.\d+)?); val (?P<val>.*)$')
#: the sentence tools/run_repfusion.py writes under a ``--doubled`` / ``--schedule-factor`` table
SCHEDULE = re.compile(rf'^Fine-tuning schedule: {LONGER_SCHEDULE} .*$', re.MULTILINE)


def read_runs(paths):
    """``({(task, regime, method, seed): (test, val curve, path)}, schedule sentence or None)``
    from the per-seed lines of runner tables."""
    methods = {label: name for name, label in METHODS.items()}
    runs, schedules = {}, {}
    for path in paths:
        with open(path) as f:
            text = f.read()
        found = 0
        for line in text.splitlines():
            match = SEED_LINE.match(line.strip())
            if not match:
                continue
            if match['task'] not in TASKS or match['label'] not in methods:
                raise ValueError(f'{path}: {line.strip()!r}: task must be one of {list(TASKS)} '
                                 f'and backbone one of {list(methods)}')
            key = (match['task'], match['regime'], methods[match['label']], int(match['seed']))
            test = float(match['test'])
            if key in runs and runs[key][0] != test:
                raise ValueError(f'{key} is given by both {runs[key][2]} (test {runs[key][0]}) '
                                 f'and {path} (test {test}): not the same run')
            runs.setdefault(key, (test, match['val'], path))
            found += 1
        if not found:
            raise ValueError(f'{path}: no per-seed lines of tools/run_repfusion.py '
                             '("- task, regime, backbone, seed N: test V; val ...")')
        longer = SCHEDULE.findall(text)
        if len(set(longer)) > 1:
            raise ValueError(f'{path}: more than one fine-tuning schedule: {sorted(set(longer))}')
        schedules[path] = longer[0] if longer else None
    if len(set(schedules.values())) > 1:
        raise ValueError('the tables have different fine-tuning schedules (None: the '
                         f'protocol\'s): {schedules}')
    return runs, next(iter(schedules.values()))


def merge(paths, methods=None):
    """The merged table (Markdown, in the runner's format) of the per-seed lines in ``paths``
    (of ``methods`` only, when given)."""
    runs, schedule = read_runs(paths)
    if methods:
        runs = {key: run for key, run in runs.items() if key[2] in methods}
        if not runs:
            raise ValueError(f'no per-seed lines of the methods {list(methods)} in {paths}')
    order = {name: i for i, name in enumerate(METHODS)}
    keys = sorted(runs, key=lambda k: (list(TASKS).index(k[0]), k[1], order[k[2]], k[3]))
    groups = {}
    for key in keys:
        groups.setdefault(key[:3], []).append(key)
    rows = []
    for (task, regime, method), members in groups.items():
        toolbox, _, label, _ = TASKS[task]
        sources = sorted({osp.basename(runs[k][2]) for k in members})
        rows.append((task, toolbox, regime, METHODS[method], label,
                     mean_std([runs[k][0] for k in members]), len(members),
                     ', '.join(f'seed {k[3]}: {osp.basename(runs[k][2])}' for k in members)
                     if len(sources) > 1 else sources[0]))
    table = markdown_table(('task', 'toolbox', 'labels', 'backbone', 'test metric (best-val '
                            'checkpoint)', 'value', 'seeds', 'from'), rows)
    if schedule:
        table += '\n\n' + schedule
    # the runner's own line format, so that a merged table can be merged again
    lines = [f'- {task}, {regime}, {METHODS[method]}, seed {seed}: '
             f'test {runs[task, regime, method, seed][0]:.2f}; '
             f'val {runs[task, regime, method, seed][1]}'
             for task, regime, method, seed in keys]
    table += ('\n\nPer seed: test of the best-val checkpoint; val at each validation, in '
              'order:\n' + '\n'.join(lines))
    command = ' '.join(['python tools/analysis/merge_results.py', *paths]
                       + (['--methods', *methods] if methods else []))
    table += (f'\n\nMerged by `{command}` from the per-seed lines (mean ± std of the '
              'two-decimal test values); the "from" column names the table each seed was read '
              'from.')
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('tables', nargs='+', help='results tables of tools/run_repfusion.py')
    parser.add_argument('--methods', nargs='+', choices=list(METHODS), default=None,
                        help='only these rows (default: every method found)')
    parser.add_argument('--out', default=None, help='write the merged table here too')
    args = parser.parse_args(argv)
    table = merge(args.tables, args.methods)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
        print(f'\nwritten: {args.out}')
    return table


if __name__ == '__main__':
    main()
