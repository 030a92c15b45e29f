"""RepFusion on Shapes under the label-efficiency protocol: distil a student from the shipped
Shapes DDPM (no labels), fine-tune it, train the same student from scratch and probe the
frozen teacher with the same schedule, print a table.

    python tools/run_repfusion.py --jobs 2                 # the main job: cls, 10 %, seed 0
    python tools/run_repfusion.py --tasks cls seg kpt --regimes 1pct 10pct full \
        --seeds 0 1 2                                      # the README evidence

Per seed: one distillation run (``--distill-config``, its student exported with
``tools/model_converters/export_backbone.py``; with the method ``repfusion-policy`` one more
per regime with the learned timestep policy, whose reward reads only that regime's labels:
``annotations/cls_train_{regime}_partial.txt`` lists every image, -1 for the unlabelled; with
the method ``drl`` one DRL pre-training of the student as its encoder, ``PRETRAIN_DRL``), then
per task and labelled regime
(``REGIMES`` of ``tools/experiments.py``: 1 %, 10 %, all labels) one run per method with the
protocol's schedule for that (task, regime) (``experiments.regime_options``): validated on the
val split, the best-val checkpoint scored once on the test split. The table (mean ± std over
seeds; below it each run's test value and val curve) is printed and written to
``{work-dir}/results.md`` with every command in
``{work-dir}/commands.txt``. ``--reuse`` returns an earlier run's results only if it had the
same config, seed and options and read the same config contents and weights (teacher,
exported student; ``run_record.json``), else it is an error; a run of the same settings that
was interrupted resumes from its latest checkpoint. ``--table-only`` does the same but trains
nothing: a run that has not finished is an error (to re-tabulate finished runs safely).
``--schedule-factor N`` (``--doubled``: 2) fine-tunes with N times the protocol's schedule, the
convergence check (work dirs end in ``-Nx``; the table says so).
``--jobs N`` runs up to N runs at a time, each fine-tune as soon as the pre-training it loads
is done (the main job's scratch and probe runs go beside the distillation); their output then
goes to ``output.log`` in each run's work dir and the terminal shows progress lines.
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from functools import partial

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from experiments import (PROTOCOL, REGIMES, ROOT, Job, add_run_control_args,  # noqa: E402
                         check_reuse, in_points, last_checkpoint, markdown_table, mean_std,
                         parse_run_control_args, per_run_lines, recorded_minutes,
                         regime_options, regime_sizes, require_finished, run, run_jobs, train,
                         train_and_test, train_command, write_table)

#: how the table of a longer fine-tuning schedule (``--schedule-factor``) names it; the merge
#: and plot tools read tables by it
LONGER_SCHEDULE = r"(?:twice|\d+ times) the protocol's"

#: per task: the distillation config of its student (run once per seed and student)
DISTILL = {
    'cls': 'configs/repfusion/repfusion-hint_ddpm-shapes32_vgg11-bn_1xb64-600it_shapes-32x32.py',
    'seg': 'configs/repfusion/repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
    'kpt': 'configs/repfusion/repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
}
#: per task: the learned-policy distillation config (method ``repfusion-policy``)
DISTILL_POLICY = {
    'cls': 'configs/repfusion/repfusion-hint-policy_ddpm-shapes32_vgg11-bn_1xb64-600it_shapes-32x32.py',
    'seg': 'configs/repfusion/repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
    'kpt': 'configs/repfusion/repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
}
#: per task: the DRL pre-training config whose encoder is that task's student (method ``drl``)
PRETRAIN_DRL = {
    'cls': 'configs/drl/drl_vgg11-bn_1xb64-600it_shapes-32x32.py',
    'seg': 'configs/drl/drl_resnet18-cifar-w32_1xb64-600it_shapes-32x32.py',
    'kpt': 'configs/drl/drl_resnet18-cifar-w32_1xb64-600it_shapes-32x32.py',
}
TASKS = {  # toolbox, metric key, label, {method: config}
    'cls': ('mmpretrain', 'accuracy/top1', 'top-1 (%)', dict(
        scratch='configs/repfusion/cls_vgg11-bn_1xb64-600it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/cls_vgg11-bn-repfusion_1xb64-600it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/linear-probe_diffusion-unet_1xb64-600it_shapes10pct-32x32.py')),
    'seg': ('mmseg', 'mIoU', 'mIoU (%)', dict(
        scratch='configs/repfusion/semfpn_resnet18-cifar_1xb32-1000it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/semfpn_resnet18-cifar-repfusion_1xb32-1000it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/semfpn_diffusion-unet_1xb32-1000it_shapes10pct-32x32.py')),
    'kpt': ('mmpose', 'coco/AP', 'AP x 100', dict(
        scratch='configs/repfusion/td-hm_resnet18-cifar_1xb64-800it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/td-hm_resnet18-cifar-repfusion_1xb64-800it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/td-hm_diffusion-unet_1xb64-800it_shapes10pct-32x32.py')),
}
METHODS = {'scratch': 'student from scratch', 'repfusion': 'student, RepFusion init',
           'repfusion-policy': 'student, RepFusion init (learned t policy)',
           'drl': 'student, DRL init (encoder pre-trained without labels)',
           'probe': 'frozen DiffusionUNet (teacher) + head'}
DEFAULT_METHODS = ['scratch', 'repfusion', 'probe']


def reward_labels(regime: str) -> str:
    """The training list a learned policy's reward reads in ``regime`` (written on demand)."""
    if regime == 'full':
        return 'annotations/cls_train.txt'
    from mmdiffrep.datasets.shapes import write_partial_labels
    path = write_partial_labels(osp.join(ROOT, 'data', 'shapes32'), f'train_{regime}')
    return osp.relpath(path, osp.join(ROOT, 'data', 'shapes32'))


def student_file(work: str) -> str:
    """Where :func:`pretrain` exports the backbone of the run in ``work``."""
    return osp.join(work, 'student.pth')


def pretrain(config: str, work: str, seed: int, options, reuse: bool):
    """Train a label-free pre-training run (distillation or DRL) and export its backbone:
    (exported backbone file, train minutes); with ``reuse`` an earlier identical run's."""
    student = student_file(work)
    if reuse and osp.exists(osp.join(ROOT, student)):
        check_reuse(work, config, seed, options)
        return student, recorded_minutes(work)
    mins = train(config, work, seed, options, resume=reuse)  # resume=: an interrupted one
    run([sys.executable, 'tools/model_converters/export_backbone.py', last_checkpoint(work),
         student, '--overwrite'])  # just trained
    return student, mins


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=['cls'])
    parser.add_argument('--regimes', nargs='+', choices=list(REGIMES), default=['10pct'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--methods', nargs='+', choices=list(METHODS), default=DEFAULT_METHODS)
    parser.add_argument('--distill-config', default=None,
                        help='one distillation config for every task (default: per task)')
    parser.add_argument('--distill-options', nargs='*', default=[],
                        help='extra --cfg-options for the distillation run')
    parser.add_argument('--work-dir', default='work_dirs/repfusion_shapes')
    parser.add_argument('--schedule-factor', type=int, default=1, metavar='N',
                        help='fine-tune with N times the protocol\'s schedule (the convergence '
                        'checks); work dirs end in -Nx')
    parser.add_argument('--doubled', action='store_true',
                        help='the same as --schedule-factor 2')
    add_run_control_args(parser, jobs_help='runs at a time (those that do not wait on a '
                         'pre-training); with more than one, each run\'s output goes to '
                         '{its work dir}/output.log')
    args = parse_run_control_args(parser, argv)
    if args.schedule_factor < 1:
        parser.error(f'--schedule-factor must be >= 1, got {args.schedule_factor}')
    if args.doubled and args.schedule_factor not in (1, 2):
        parser.error(f'--doubled is --schedule-factor 2, not {args.schedule_factor}')
    factor = 2 if args.doubled else args.schedule_factor

    start = time.time()
    distill = {task: args.distill_config or DISTILL[task] for task in args.tasks}
    distill_configs = sorted(set(distill.values()))
    policy_configs = sorted({DISTILL_POLICY[task] for task in args.tasks})
    if 'drl' in args.methods and any(task not in PRETRAIN_DRL for task in args.tasks):
        parser.error(f'--methods drl: no DRL pre-training config for the student of task(s) '
                     f'{[t for t in args.tasks if t not in PRETRAIN_DRL]}; available for '
                     f'{sorted(PRETRAIN_DRL)}')
    drl_configs = sorted({PRETRAIN_DRL[task] for task in args.tasks if 'drl' in args.methods})
    jobs, commands, work_dirs = [], [], []
    fine_tune_dirs = {}  # (task, regime, method, seed) -> work dir

    def add(key, what, work, fn, config, seed, options, deps=()):
        jobs.append(Job(key, what, fn, deps, osp.join(ROOT, work, 'output.log')))
        work_dirs.append(work)
        commands.append(train_command(config, work, seed, options))

    students = {}  # label-free pre-training job (kind, config[, regime], seed) -> its export

    def add_pretraining(key, what, work, config, seed, options):
        students[key] = student_file(work)
        add(key, what, work, partial(pretrain, config, work, seed, options, args.reuse),
            config, seed, options)

    for seed in args.seeds:
        for config in distill_configs if 'repfusion' in args.methods else []:
            name = osp.basename(config).split('_')[2]  # the student's name in the config name
            work = osp.join(args.work_dir, f'distill_{name}_seed{seed}')
            add_pretraining(('distill', config, seed), f'distillation into {name}, seed {seed}',
                            work, config, seed, args.distill_options)
        for config, regime in ((c, r) for c in policy_configs for r in args.regimes
                               if 'repfusion-policy' in args.methods):
            name = osp.basename(config).split('_')[2]
            work = osp.join(args.work_dir, f'distill-policy_{name}_{regime}_seed{seed}')
            options = [f'train_dataloader.dataset.ann_file={reward_labels(regime)}'] \
                + args.distill_options
            add_pretraining(('distill-policy', config, regime, seed),
                            f'distillation into {name} with the learned policy (reward: '
                            f'{regime} labels), seed {seed}', work, config, seed, options)
        for config in drl_configs:  # empty unless 'drl' is a method
            name = osp.basename(config).split('_')[1]  # the encoder's name in the config name
            work = osp.join(args.work_dir, f'drl_{name}_seed{seed}')
            add_pretraining(('drl', config, seed), f'DRL pre-training of {name}, seed {seed}',
                            work, config, seed, [])
    # fine-tunes regime by regime (all seeds of one before the next): an interrupted run
    # leaves whole table rows, and --reuse continues with the next regime
    for task, regime, seed, method in ((t, r, s, m) for t in args.tasks for r in args.regimes
                                       for s in args.seeds for m in args.methods):
        configs = TASKS[task][3]
        options = regime_options(task, regime, iters=factor * PROTOCOL[task][2][regime])
        pre = None  # the pre-training job whose exported backbone initialises the student
        if method == 'repfusion':
            pre = ('distill', distill[task], seed)
        elif method == 'repfusion-policy':
            pre = ('distill-policy', DISTILL_POLICY[task], regime, seed)
        elif method == 'drl':
            pre = ('drl', PRETRAIN_DRL[task], seed)
            # the scratch config it fine-tunes with has no init_cfg to point elsewhere yet
            options.append('model.backbone.init_cfg.type=Pretrained')
        if pre is not None:
            options += [f'model.backbone.init_cfg.checkpoint={students[pre]}',
                        'model.backbone.init_cfg.prefix=None']
        work = osp.join(args.work_dir, f'{task}_{regime}_{method}'
                        f'{f"-{factor}x" if factor > 1 else ""}_seed{seed}')
        # a pre-trained student fine-tunes with the scratch config + its weights
        config = configs['scratch' if method == 'drl' else
                         'repfusion' if method == 'repfusion-policy' else method]
        fine_tune_dirs[(task, regime, method, seed)] = work
        add((task, regime, method, seed), f'{task}, {regime} labels, {METHODS[method]}, '
            f'seed {seed}', work, partial(train_and_test, config, work, seed, options,
                                          reuse=args.reuse),
            config, seed, options, deps=(pre, ) if pre else ())

    if args.table_only:
        require_finished(work_dirs)
    done = run_jobs(jobs, args.jobs, name='run_repfusion')
    results, minutes = {}, {}  # (task, regime, method) or (pre-training kind, '') -> lists
    for key, (value, mins) in done.items():
        if key in students:  # a pre-training: its kind ('distill', ...) is the key's head
            minutes.setdefault((key[0], ''), []).append(mins)
            continue
        task, regime, method, _ = key
        metric = TASKS[task][1]
        results.setdefault((task, regime, method), []).append(in_points(metric, value[metric]))
        minutes.setdefault((task, regime, method), []).append(mins)

    rows = []
    for task in args.tasks:
        toolbox, _, label, configs = TASKS[task]
        for regime in args.regimes:
            for method in args.methods:
                vals = results[(task, regime, method)]
                rows.append((task, toolbox, regime, METHODS[method],
                             label, mean_std(vals), len(vals),
                             f'{statistics.mean(minutes[(task, regime, method)]):.1f}'))
    table = markdown_table(('task', 'toolbox', 'labels', 'backbone', 'test metric (best-val '
                            'checkpoint)', 'value', 'seeds', 'train min'), rows)
    if factor > 1:
        times = 'twice' if factor == 2 else f'{factor} times'
        table += (f'\n\nFine-tuning schedule: {times} the protocol\'s (' + ', '.join(
            f'{t} {r}: {factor * PROTOCOL[t][2][r]} iterations' for t in args.tasks
            for r in args.regimes) + '), the convergence check.')
    if ('distill', '') in minutes:
        table += (f'\n\nDistillation: {", ".join(f"`{osp.basename(c)}`" for c in distill_configs)}, '
                  f'{statistics.mean(minutes[("distill", "")]):.1f} min per seed, no labels. '
                  'Labels: ' + ', '.join(f'{r} = {n}' for r, n in regime_sizes().items())
                  + ' images.')
    if ('distill-policy', '') in minutes:
        table += (f'\n\nLearned-policy distillation: '
                  f'{", ".join(f"`{osp.basename(c)}`" for c in policy_configs)}, one per seed '
                  f'and regime, {statistics.mean(minutes[("distill-policy", "")]):.1f} min '
                  'each; its reward reads only the regime\'s labels (-1 = unlabelled).')
    if ('drl', '') in minutes:
        names = ', '.join(f'`{osp.basename(c)}`' for c in drl_configs)
        table += (f'\n\nDRL pre-training: {names}, '
                  f'{statistics.mean(minutes[("drl", "")]):.1f} min per seed, no labels.')
    table += '\n\n' + per_run_lines([
        (f'{key[0]}, {key[1]}, {METHODS[key[2]]}, seed {key[3]}', TASKS[key[0]][1],
         done[key][0], work) for key, work in fine_tune_dirs.items()])
    write_table(args.work_dir, 'results.md', table)
    write_table(args.work_dir, 'commands.txt', '\n'.join(commands))
    print(f'\nRepFusion on Shapes (test split, {(time.time() - start) / 60:.1f} min in all):\n'
          + table)
    print(f'\nwritten: {osp.join(ROOT, args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
