"""DRL on Shapes, end to end: train DRL / VDRL / the autoencoder baseline / the time-conditioned
DRL encoder, probe their codes against a random encoder, fine-tune with few labels, plot the
probe-vs-t curve.

    python tools/run_drl.py                                   # DRL and the baselines, seed 0
    python tools/run_drl.py --seeds 0 1 2                     # the README evidence

Per seed: each method in ``--methods`` is trained (``configs/drl/*_shapes-32x32.py``, no
labels), its code is probed (``tools/analysis/probe_codes.py``: linear probe and 20-NN, all
2000 training labels, test split), the random encoder of the same architecture is probed,
and (``--finetune``) the DRL encoder and a scratch encoder are fine-tuned on the 10% labelled
subset. The time-conditioned encoder is probed at every t of ``--times``. Writes
``{work-dir}/results.md``, ``commands.txt`` and ``probe_vs_t.png`` (mean ± std over seeds).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from experiments import (ROOT, add_run_control_args, last_checkpoint,  # noqa: E402
                         markdown_table, mean_std, parse_run_control_args, require_finished,
                         run, train, train_and_test, train_command, write_table)

CONFIGS = 'configs/drl'
METHODS = {  # name: (config, table label)
    'drl': ('drl_resnet18-cifar_1xb64-600it_shapes-32x32.py', 'DRL (L1 on z)'),
    'vdrl': ('vdrl_resnet18-cifar_1xb64-600it_shapes-32x32.py', 'VDRL (Gaussian z, KL)'),
    'ae': ('ae_resnet18-cifar_1xb64-600it_shapes-32x32.py', 'autoencoder (same encoder)'),
    'drl-tc': ('drl-tc_resnet18-cifar_1xb64-600it_shapes-32x32.py',
               'DRL, time-conditioned E(x0, t)'),
    'drl-unisigma': ('drl-unisigma_resnet18-cifar_1xb64-600it_shapes-32x32.py',
                     'DRL, sigma uniform (high-noise focus)'),
    'drl-vp': ('drl-vp_resnet18-cifar_1xb64-600it_shapes-32x32.py', 'DRL, VP SDE'),
}
FINETUNE = {
    'scratch': 'cls_resnet18-cifar-w16_1xb64-300it_shapes10pct-32x32.py',
    'drl': 'cls_resnet18-cifar-w16-drl_1xb64-300it_shapes10pct-32x32.py',
}


def probe(config: str, checkpoint, out_dir: str, seed: int, times=None, reuse=False) -> list:
    """The probe rows of ``checkpoint``'s codes (``tools/analysis/probe_codes.py``); with
    ``reuse`` an earlier result, unless the checkpoint is newer (re-trained since)."""
    result = osp.join(ROOT, out_dir, 'probe_codes.json')
    fresh = osp.exists(result) and (checkpoint is None or osp.getmtime(result)
                                    >= osp.getmtime(osp.join(ROOT, checkpoint)))
    if not (reuse and fresh):
        cmd = [sys.executable, 'tools/analysis/probe_codes.py', config,
               *([checkpoint] if checkpoint else []), '--seed', str(seed), '--out-dir', out_dir]
        run(cmd + (['--times', *map(str, times)] if times else []))
    with open(result) as f:
        return json.load(f)['rows']


def plot_curve(times, curves, references, out_file):
    """Probe accuracy of the time-conditioned code against t (mean ± std over seeds), with the
    static codes as horizontal references."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, key, title in zip(axes, ('linear', 'knn'), ('linear probe', '20-NN')):
        values = np.array(curves[key])  # seeds x times
        mean, std = values.mean(0), values.std(0)
        ax.plot(times, mean, 'o-', color='C0', label='DRL, E(x0, t)')
        ax.fill_between(times, mean - std, mean + std, color='C0', alpha=0.2)
        for i, (name, ref) in enumerate(references.items()):
            ax.axhline(statistics.mean(ref[key]), ls='--', color=f'C{i + 1}', label=name)
        ax.set_xlabel('encoder time t (t=1: sigma 50)')
        ax.set_title(f'{title} on the code, Shapes test', fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('top-1 (%)')
    axes[1].legend(fontsize=7, loc='best')
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    plt.close(fig)


def run_dir(work_dir: str, name: str, seed: int) -> str:
    """Where a training of ``name`` (a method, or ``finetune_{init}``) and ``seed`` goes."""
    return osp.join(work_dir, f'{name}_seed{seed}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', choices=list(METHODS),
                        default=['drl', 'vdrl', 'ae', 'drl-tc'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--times', type=float, nargs='+', default=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
    parser.add_argument('--no-finetune', dest='finetune', action='store_false',
                        help='skip the 10%%-label fine-tuning runs')
    parser.add_argument('--work-dir', default='work_dirs/drl_shapes')
    add_run_control_args(parser)
    args = parse_run_control_args(parser, argv)
    if args.table_only:
        names = list(args.methods) + ([f'finetune_{init}' for init in FINETUNE]
                                      if 'drl' in args.methods and args.finetune else [])
        require_finished([run_dir(args.work_dir, name, s) for s in args.seeds for name in names])

    start = time.time()
    codes = {}  # method -> {'linear': [...per seed], 'knn': [...]} (static codes)
    curves = {'linear': [], 'knn': []}  # time-conditioned: seeds x times
    finetune, minutes, commands = {}, {}, []
    for seed in args.seeds:
        for method in args.methods:
            config = osp.join(CONFIGS, METHODS[method][0])
            work = run_dir(args.work_dir, method, seed)
            minutes.setdefault(method, []).append(train(config, work, seed, resume=args.reuse))
            commands.append(train_command(config, work, seed))
            ckpt = last_checkpoint(work)
            if method == 'drl-tc':
                rows = probe(config, ckpt, osp.join(work, 'probe'), seed, args.times,
                             args.reuse)
                for key in curves:
                    curves[key].append([r[key] for r in rows])
                rows = [rows[0]]  # the table reads the code of the clean image (t = 0)
            else:
                rows = probe(config, ckpt, osp.join(work, 'probe'), seed, reuse=args.reuse)
            for key in ('linear', 'knn'):
                codes.setdefault(method, {}).setdefault(key, []).append(rows[0][key])
            if method == 'drl' and args.finetune:
                for init, ft_config in FINETUNE.items():
                    ft_work = run_dir(args.work_dir, f'finetune_{init}', seed)
                    options = [f'model.backbone.init_cfg.checkpoint={ckpt}'] if init == 'drl' \
                        else []
                    values, _ = train_and_test(osp.join(CONFIGS, ft_config), ft_work, seed,
                                               options, reuse=args.reuse)
                    commands.append(train_command(osp.join(CONFIGS, ft_config), ft_work, seed,
                                                  options))
                    finetune.setdefault(init, []).append(values['accuracy/top1'])
        rows = probe(osp.join(CONFIGS, METHODS['drl'][0]), None,
                     osp.join(args.work_dir, f'random_seed{seed}'), seed, reuse=args.reuse)
        for key in ('linear', 'knn'):
            codes.setdefault('random', {}).setdefault(key, []).append(rows[0][key])

    labels = dict({m: label for m, (_, label) in METHODS.items()},
                  random='random encoder (same architecture, no training)')
    rows = []
    for method in ['random'] + args.methods:
        r = codes[method]
        label = labels[method] + (' at t = 0' if method == 'drl-tc' else '')
        mins = f'{statistics.mean(minutes[method]):.1f}' if method in minutes else '-'
        rows.append((label, mean_std(r['linear']), mean_std(r['knn']), len(r['linear']), mins))
    table = markdown_table(('code of', 'linear probe top-1 (%)', '20-NN top-1 (%)', 'seeds',
                            'train min'), rows)
    if 'drl-tc' in args.methods:
        mean_curve = np.array(curves['linear']).mean(0)
        table += ('\n\nTime-conditioned encoder, linear probe vs t (mean over seeds): '
                  + ', '.join(f't={t:g}: {v:.1f}' for t, v in zip(args.times, mean_curve)))
        refs = {labels[m]: codes[m] for m in ('random', 'drl', 'ae') if m in codes}
        plot_curve(args.times, curves, refs, osp.join(ROOT, args.work_dir, 'probe_vs_t.png'))
    if finetune:
        table += '\n\n' + markdown_table(
            ('10% labels (200 images), fine-tuned end to end', 'test top-1 (%)', 'seeds'),
            [('encoder from scratch', mean_std(finetune['scratch']), len(finetune['scratch'])),
             ('encoder from DRL', mean_std(finetune['drl']), len(finetune['drl']))])
    write_table(args.work_dir, 'results.md', table)
    write_table(args.work_dir, 'commands.txt', '\n'.join(commands))
    print(f'\nDRL on Shapes ({(time.time() - start) / 60:.1f} min in all):\n' + table)
    print(f'\nwritten: {osp.join(ROOT, args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
