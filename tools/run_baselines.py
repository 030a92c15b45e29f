"""Train and evaluate the Shapes baselines of the three toolboxes and print a results table.

    python tools/run_baselines.py [--seeds 0 1 2] [--only cls seg kpt] [--work-dir work_dirs/baselines]
    python tools/run_baselines.py --doubled ...   # + the convergence check: twice the schedule

Each run is ``tools/train.py CONFIG`` followed by ``tools/test.py CONFIG CHECKPOINT`` on the
test split, CHECKPOINT being the best-val one; the table (Markdown) is also written to
``{work-dir}/results.md``, each run's test value and val curve below it, and the commands to
``{work-dir}/commands.txt``. With ``--doubled`` every baseline is also trained with its whole
schedule (iterations or epochs, and the LR schedule's length) doubled, and the table gains the
doubled run's metric and the gain: a converged baseline gains < 1 point. ``--jobs N`` runs
N trainings at a time (``experiments.run_jobs``).
"""
import argparse
import os.path as osp
import statistics
import sys
from functools import partial

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from experiments import (ROOT, Job, add_run_control_args, in_points,  # noqa: E402
                         markdown_table, mean_std, parse_run_control_args, per_run_lines,
                         require_finished, run_jobs, train_and_test, train_command,
                         write_table)

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
    add_run_control_args(parser, jobs_help='runs at a time; with more than one, each run\'s '
                         'output goes to {its work dir}/output.log')
    args = parse_run_control_args(parser, argv)

    jobs, commands, works = [], [], {}  # works: job key -> its work dir
    for key in args.only:
        config = BASELINES[key][1]
        for seed in args.seeds:
            variants = [('', [])] + ([('_2x', DOUBLED[key])] if args.doubled else [])
            for suffix, options in variants:
                work = osp.join(args.work_dir, f'{key}{suffix}_seed{seed}')
                works[(key, suffix, seed)] = work
                commands.append(train_command(config, work, seed, options))
                jobs.append(Job((key, suffix, seed), f'{key} baseline{suffix}, seed {seed}',
                                partial(train_and_test, config, work, seed, options,
                                        reuse=args.reuse), log=osp.join(ROOT, work, 'output.log')))
    if args.table_only:
        require_finished(list(works.values()))
    done = run_jobs(jobs, args.jobs, name='run_baselines')

    rows = []
    for key in args.only:
        toolbox, config, metric, label = BASELINES[key]
        values = [in_points(metric, done[(key, '', s)][0][metric]) for s in args.seeds]
        minutes = [done[(key, '', s)][1] for s in args.seeds]
        row = [toolbox, f'`{osp.basename(config)}`', label, mean_std(values)]
        if args.doubled:
            doubled = [in_points(metric, done[(key, '_2x', s)][0][metric]) for s in args.seeds]
            gains = [d - v for d, v in zip(doubled, values)]
            row += [mean_std(doubled), mean_std(gains)]
        rows.append((*row, len(values), f'{statistics.mean(minutes):.1f}'))
    header = ['toolbox', 'config', 'test metric', 'value']
    if args.doubled:
        header += ['value, schedule x2', 'gain of x2']
    table = markdown_table((*header, 'seeds', 'train min (CPU)'), rows)
    table += '\n\n' + per_run_lines([
        (f'{job[0]} baseline{" x2" if job[1] else ""}, seed {job[2]}', BASELINES[job[0]][2],
         done[job][0], work) for job, work in works.items()])
    write_table(args.work_dir, 'results.md', table)
    write_table(args.work_dir, 'commands.txt', '\n'.join(commands))
    print('\nShapes baselines (test split):\n' + table)


if __name__ == '__main__':
    main()
