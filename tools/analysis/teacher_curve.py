"""Where does longer DDPM training lead? Probe accuracy and sample Fréchet distance of every
checkpoint of a DDPM run, on the **val** split (test stays untouched), as a CSV and a curve PNG.

    python tools/analysis/teacher_curve.py CONFIG WORK_DIR \
        --classifier configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py CLS_CKPT \
        [--blocks down.1 mid up.0.pre up.1.pre] [--timesteps 0 50 150 300] [--num 250]

For each ``iter_*.pth`` in WORK_DIR (EMA weights, as ``ddpm_to_diffusers.py`` exports them):
the best pooled linear probe over the (block, timestep) grid (train split -> val split, all
labels) and the Fréchet distance of ``--num`` DDIM samples to the real val images in the
feature space of a Shapes classifier (the measure of ``sample_quality.py``). ``--random``
adds the untrained U-Net as iteration 0. Writes ``{out-dir}/teacher_curve.csv`` and
``teacher_curve.png``. Several runs in one picture, from their CSVs:

    python tools/analysis/teacher_curve.py --plot v2=a/teacher_curve.csv v3=b.csv,c.csv \
        --out docs/teacher_curves.png
"""
import argparse
import csv
import glob
import os
import os.path as osp
import re
import sys
import tempfile

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(osp.dirname(HERE), 'model_converters'))
from mmengine.config import Config  # noqa: E402

from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.diffusion import build_unet, load_scheduler, load_unet  # noqa: E402
from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402
from mmdiffrep.evaluation import linear_probe_accuracy  # noqa: E402
from mmdiffrep.utils.plotting import pyplot, save_figure  # noqa: E402
from ddpm_to_diffusers import to_diffusers  # noqa: E402
from probe_sweep import extract  # noqa: E402
from sample_quality import classify, frechet_distance, generate, load_classifier  # noqa: E402


def probe_grid(pretrained, unet_cfg, blocks, timesteps, data, seed=0):
    """Val top-1 of the linear probe of every (block, timestep) cell: (B, T) array."""
    (xtr, ytr), (xva, yva) = data
    backbone = DiffusionUNet(pretrained=pretrained, subfolder='unet' if pretrained else None,
                             unet_cfg=None if pretrained else unet_cfg, blocks=blocks,
                             timesteps=timesteps, noise='fixed', combine='separate',
                             out_type='pooled', noise_seed=seed).eval()
    ftr = extract(backbone, xtr, 100, 'features (train)')
    fva = extract(backbone, xva, 100, 'features (val)')
    acc = np.zeros((len(blocks), len(timesteps)))
    for k in range(len(ftr)):
        b, t = divmod(k, len(timesteps))
        acc[b, t] = linear_probe_accuracy(ftr[k], ytr, fva[k], yva, 6)
    return acc


def plot(runs, out_file):
    """``runs``: {label: rows} (or one run's rows): probe (solid) and FD (dashed) per run."""
    if not isinstance(runs, dict):
        runs = {'': runs}
    plt = pyplot()
    fig, ax1 = plt.subplots(figsize=(6.4, 3.8))
    ax2 = ax1.twinx()
    for k, (label, rows) in enumerate(runs.items()):
        colour = f'C{k}'
        it = [int(r['iter']) for r in rows]
        ax1.plot(it, [float(r['best_probe_val']) for r in rows], 'o-', color=colour,
                 label=f'{label} probe'.strip())
        ax2.plot(it, [float(r['fd_val']) for r in rows], 's--', color=colour, alpha=0.7,
                 label=f'{label} FD'.strip())
    ax1.set_xlabel('training iteration')
    ax1.set_ylabel('best pooled linear probe, val top-1 (%) (o-)')
    ax2.set_ylabel('sample Fréchet distance to val (s--, lower is better)')
    ax2.set_yscale('log')
    ax1.grid(alpha=0.3)
    if len(runs) > 1:
        h1, l1 = ax1.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax1.legend(h1 + h2, l1 + l2, fontsize=7, loc='center right')
    fig.suptitle('Shapes DDPM teacher: features and samples vs training', fontsize=10)
    save_figure(fig, out_file)


def read_curves(specs):
    """``['LABEL=a.csv,b.csv', ...]`` -> {label: rows sorted by iteration}."""
    runs = {}
    for spec in specs:
        label, _, files = spec.partition('=')
        if not files:
            raise ValueError(f'--plot takes LABEL=CSV[,CSV...], got {spec!r}')
        rows = []
        for f in files.split(','):
            with open(f) as fh:
                rows += list(csv.DictReader(fh))
        runs[label] = sorted(rows, key=lambda r: int(r['iter']))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='the DDPM training config')
    parser.add_argument('work_dir', nargs='?', help='folder with iter_*.pth checkpoints')
    parser.add_argument('--classifier', nargs=2, metavar=('CONFIG', 'CKPT'))
    parser.add_argument('--plot', nargs='+', metavar='LABEL=CSV[,CSV]',
                        help='only draw curves of earlier runs (their teacher_curve.csv) into '
                             'one PNG, --out')
    parser.add_argument('--out', default='teacher_curves.png', help='the PNG of --plot')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--blocks', nargs='+', default=['down.1', 'mid', 'up.0.pre', 'up.1.pre'])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[0, 50, 150, 300])
    parser.add_argument('--iters', type=int, nargs='*', help='only these checkpoints')
    parser.add_argument('--random', action='store_true', help='add the untrained U-Net (iter 0)')
    parser.add_argument('--num', type=int, default=250, help='samples for the Fréchet distance')
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument('--out-dir', default=None, help='default: WORK_DIR/teacher_curve')
    args = parser.parse_args(argv)
    if args.plot:
        plot(read_curves(args.plot), args.out)
        print(f'wrote {args.out}')
        return
    if not (args.config and args.work_dir and args.classifier):
        parser.error('CONFIG, WORK_DIR and --classifier are needed (or --plot)')
    out_dir = args.out_dir or osp.join(args.work_dir, 'teacher_curve')
    os.makedirs(out_dir, exist_ok=True)
    cfg = Config.fromfile(args.config)
    ckpts = {int(re.search(r'iter_(\d+)\.pth$', p).group(1)): p
             for p in glob.glob(osp.join(args.work_dir, 'iter_*.pth'))}
    if args.iters:
        missing = sorted(set(args.iters) - set(ckpts))
        if missing:
            raise FileNotFoundError(f'no checkpoint for iterations {missing} in {args.work_dir}'
                                    f' (have {sorted(ckpts)})')
        ckpts = {i: ckpts[i] for i in args.iters}
    if not ckpts and not args.random:
        raise FileNotFoundError(f'no iter_*.pth checkpoints in {args.work_dir}')
    data = (read_cls_split(args.data, 'annotations/cls_train.txt', 'images/train'),
            read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val'))
    clf, dp = load_classifier(*args.classifier)
    real_val = data[1][0][:args.num] / 255
    ref, _ = classify(clf, real_val, dp.mean, dp.std)
    sources = ([(0, None)] if args.random else []) + sorted(ckpts.items())
    rows = []
    for it, ckpt in sources:
        with tempfile.TemporaryDirectory() as tmp:
            if ckpt is None:
                folder, unet_cfg = None, cfg.model.unet_cfg.to_dict()
                unet, scheduler = build_unet(unet_cfg).eval(), load_scheduler(None)
            else:
                to_diffusers(cfg, ckpt, tmp)
                folder, unet_cfg = tmp, None
                unet, scheduler = load_unet(tmp, subfolder='unet').eval(), load_scheduler(tmp)
            acc = probe_grid(folder, unet_cfg, args.blocks, args.timesteps, data)
            torch.manual_seed(0)
            imgs = generate(unet, scheduler, args.num, args.steps, 125, 0)
        feats, _ = classify(clf, imgs, dp.mean, dp.std)
        b, t = np.unravel_index(acc.argmax(), acc.shape)
        row = dict(iter=it, best_probe_val=round(float(acc.max()), 2),
                   best_cell=f'{args.blocks[b]}@t={args.timesteps[t]}',
                   mean_probe_val=round(float(acc.mean()), 2),
                   fd_val=round(frechet_distance(feats, ref), 3))
        print(row, flush=True)
        rows.append(row)
        np.savetxt(osp.join(out_dir, f'probe_grid_iter{it}.csv'), acc, fmt='%.2f',
                   delimiter=',', header=f'rows {args.blocks}, cols t={args.timesteps}')
    with open(osp.join(out_dir, 'teacher_curve.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, osp.join(out_dir, 'teacher_curve.png'))
    print(f'wrote {out_dir}/teacher_curve.(csv|png)')


if __name__ == '__main__':
    main()
