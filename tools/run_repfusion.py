"""RepFusion on Shapes, end to end: distil a student from the shipped Shapes DDPM, fine-tune it
with few labels, train the same student from scratch, probe the frozen teacher, print a table.

    python tools/run_repfusion.py                          # the main job: cls, seed 0
    python tools/run_repfusion.py --tasks cls seg kpt --seeds 0 1 2   # the README evidence

Per seed: one distillation run (``--distill-config``, its student exported with
``tools/model_converters/export_backbone.py``), then per task three runs on the 10%
labelled subset with the same schedule: scratch, RepFusion-initialised, frozen DiffusionUNet
probe. Each is evaluated on the test split. The table (mean ± std over seeds) is printed and
written to ``{work-dir}/results.md`` with the commands in ``{work-dir}/commands.txt``.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdiffrep.utils.experiments import (ROOT, last_checkpoint, markdown_table,  # noqa: E402
                                         mean_std, recorded_minutes, run, train,
                                         train_and_test, write_table)

DISTILL = 'configs/repfusion/repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py'
TASKS = {  # toolbox, metric key, label, {method: config}
    'cls': ('mmpretrain', 'accuracy/top1', 'top-1 (%)', dict(
        scratch='configs/repfusion/cls_resnet18-cifar_1xb64-300it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/cls_resnet18-cifar-repfusion_1xb64-300it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/linear-probe_diffusion-unet_1xb64-300it_shapes10pct-32x32.py')),
    'seg': ('mmseg', 'mIoU', 'mIoU (%)', dict(
        scratch='configs/repfusion/semfpn_resnet18-cifar_1xb32-500it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/semfpn_resnet18-cifar-repfusion_1xb32-500it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/semfpn_diffusion-unet_1xb32-500it_shapes10pct-32x32.py')),
    'kpt': ('mmpose', 'coco/AP', 'AP', dict(
        scratch='configs/repfusion/td-hm_resnet18-cifar_1xb64-400it_shapes10pct-32x32.py',
        repfusion='configs/repfusion/td-hm_resnet18-cifar-repfusion_1xb64-400it_shapes10pct-32x32.py',
        probe='configs/diffusion_unet/td-hm_diffusion-unet_1xb64-400it_shapes10pct-32x32.py')),
}
METHODS = {'scratch': 'student from scratch', 'repfusion': 'student, RepFusion init',
           'probe': 'frozen DiffusionUNet (teacher) + head'}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=['cls'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
    parser.add_argument('--distill-config', default=DISTILL)
    parser.add_argument('--distill-options', nargs='*', default=[],
                        help='extra --cfg-options for the distillation run')
    parser.add_argument('--work-dir', default='work_dirs/repfusion_shapes')
    parser.add_argument('--reuse', action='store_true',
                        help='skip runs whose results already exist in --work-dir')
    args = parser.parse_args(argv)

    start = time.time()
    results = {}  # (task, method) -> list of values
    minutes = {}
    commands = []
    for seed in args.seeds:
        student = None
        if 'repfusion' in args.methods:
            work = osp.join(args.work_dir, f'distill_seed{seed}')
            student = osp.join(work, 'student.pth')
            if args.reuse and osp.exists(osp.join(ROOT, student)):
                mins = recorded_minutes(work)
            else:
                mins = train(args.distill_config, work, seed, args.distill_options)
                run([sys.executable, 'tools/model_converters/export_backbone.py',
                     last_checkpoint(work), student])
            minutes.setdefault(('distill', ''), []).append(mins)
            commands.append(f'python tools/train.py {args.distill_config} --work-dir {work} '
                            f'--cfg-options randomness.seed={seed} '
                            + ' '.join(args.distill_options))
        for task in args.tasks:
            _, metric, _, configs = TASKS[task]
            for method in args.methods:
                options = []
                if method == 'repfusion':  # the exported student: a plain backbone file
                    options = [f'model.backbone.init_cfg.checkpoint={student}',
                               'model.backbone.init_cfg.prefix=None']
                work = osp.join(args.work_dir, f'{task}_{method}_seed{seed}')
                values, mins = train_and_test(configs[method], work, seed, options,
                                              reuse=args.reuse)
                results.setdefault((task, method), []).append(100 * values[metric]
                                                              if task == 'kpt' else
                                                              values[metric])
                minutes.setdefault((task, method), []).append(mins)
                commands.append(f'python tools/train.py {configs[method]} --work-dir {work} '
                                f'--cfg-options randomness.seed={seed} {" ".join(options)}')

    rows = []
    for task in args.tasks:
        toolbox, _, label, configs = TASKS[task]
        for method in args.methods:
            vals = results[(task, method)]
            rows.append((task, toolbox, METHODS[method], label.replace('AP', 'AP x 100'),
                         mean_std(vals), len(vals),
                         f'{statistics.mean(minutes[(task, method)]):.1f}'))
    table = markdown_table(('task', 'toolbox', 'backbone', 'test metric', 'value', 'seeds',
                            'train min'), rows)
    if ('distill', '') in minutes:
        table += (f'\n\nDistillation: `{osp.basename(args.distill_config)}`, '
                  f'{statistics.mean(minutes[("distill", "")]):.1f} min per seed. '
                  f'Few labels: 10% subset (200 images).')
    write_table(args.work_dir, 'results.md', table)
    write_table(args.work_dir, 'commands.txt', '\n'.join(commands))
    print(f'\nRepFusion on Shapes (test split, {(time.time() - start) / 60:.1f} min in all):\n'
          + table)
    print(f'\nwritten: {osp.join(ROOT, args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
