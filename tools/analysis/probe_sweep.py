"""(timestep x block) linear-probe sweep: which U-Net block at which timestep carries the label?

    python tools/analysis/probe_sweep.py --unet-config configs/_base_/models/unet_shapes32.py \
        [--pretrained DIR] --data data/shapes32 --blocks down.1 mid up.0.pre up.1.pre \
        --timesteps 0 10 50 100 250 500 --out-dir work_dirs/probe_sweep [--class-label 6]

(``--class-label``: a class-conditional U-Net reads its features with that class, e.g. the
null class of classifier-free guidance, so the probe sees no label.)

Features of every (block, timestep) come from ONE DiffusionUNet pass per batch
(``combine='separate'``, globally average pooled); a linear classifier is trained on each
(standardised features, full-batch Adam, weight decay) on the training list and scored on the
validation list. Writes ``probe_sweep.csv`` and ``probe_sweep.png`` (a heatmap).
"""
import argparse
import csv
import os
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmengine.config import Config  # noqa: E402

from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402
from mmdiffrep.evaluation import linear_probe_accuracy  # noqa: E402


@torch.no_grad()
def extract(backbone, images, batch_size, desc):
    from tqdm import tqdm
    feats = None
    for i in tqdm(range(0, len(images), batch_size), desc=desc, unit='batch'):
        x = (images[i:i + batch_size] - 127.5) / 127.5  # what the Shapes preprocessor gives
        outs = backbone(x)
        if feats is None:
            feats = [[] for _ in outs]
        for f, o in zip(feats, outs):
            f.append(o)
    return [torch.cat(f) for f in feats]


def plot(acc, blocks, timesteps, out_file, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(timesteps), 1.0 + 0.55 * len(blocks)))
    im = ax.imshow(acc, cmap='viridis', aspect='auto')
    ax.set_xticks(range(len(timesteps)), [str(t) for t in timesteps])
    ax.set_yticks(range(len(blocks)), blocks)
    ax.set_xlabel('timestep t')
    ax.set_ylabel('block')
    for (i, j), v in np.ndenumerate(acc):
        ax.text(j, i, f'{v:.1f}', ha='center', va='center',
                color='white' if v < acc.max() - 0.3 * np.ptp(acc) else 'black', fontsize=8)
    fig.colorbar(im, ax=ax, label='top-1 (%)')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--unet-config', required=True,
                        help='a config file defining `unet_cfg` (the U-Net architecture)')
    parser.add_argument('--pretrained', help='diffusers folder / checkpoint (default: random)')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--train-ann', default='annotations/cls_train.txt')
    parser.add_argument('--eval-split', default='val', choices=['val', 'test'],
                        help='split the probes are scored on: select cells on val, report '
                             'the selected cell once on test')
    parser.add_argument('--blocks', nargs='+', default=['down.1', 'mid', 'up.0.pre', 'up.1.pre'])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[0, 10, 50, 100, 250, 500])
    parser.add_argument('--noise', default='fixed', choices=['none', 'fixed', 'random'])
    parser.add_argument('--max-train', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--class-label', type=int, default=None,
                        help='for a class-conditional U-Net: the class it is given (e.g. its '
                             'null class of classifier-free guidance)')
    parser.add_argument('--out-dir', default='work_dirs/probe_sweep')
    args = parser.parse_args(argv)
    if not osp.isdir(args.data):
        raise FileNotFoundError(f'--data {args.data!r} does not exist; generate it with '
                                f'python tools/dataset_converters/shapes.py {args.data}')
    torch.manual_seed(args.seed)
    unet_cfg = Config.fromfile(args.unet_config).unet_cfg.to_dict()
    backbone = DiffusionUNet(pretrained=args.pretrained, unet_cfg=unet_cfg, blocks=args.blocks,
                             timesteps=args.timesteps, noise=args.noise, combine='separate',
                             out_type='pooled', noise_seed=args.seed,
                             condition=None if args.class_label is None else dict(
                                 type='mmdiffrep.ClassLabel', label=args.class_label)).eval()
    start = time.time()
    xtr, ytr = read_cls_split(args.data, args.train_ann, 'images/train', args.max_train)
    xva, yva = read_cls_split(args.data, f'annotations/cls_{args.eval_split}.txt',
                              f'images/{args.eval_split}')
    ftr = extract(backbone, xtr, args.batch_size, 'features (train)')
    fva = extract(backbone, xva, args.batch_size, 'features (val)')
    num_classes = int(max(ytr.max(), yva.max())) + 1
    T = len(args.timesteps)
    acc = np.zeros((len(args.blocks), T))
    from tqdm import tqdm
    for k in tqdm(range(len(ftr)), desc='probes', unit='probe'):
        b, t = divmod(k, T)  # DiffusionUNet(combine='separate') is block-major
        acc[b, t] = linear_probe_accuracy(ftr[k], ytr, fva[k], yva, num_classes)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'probe_sweep.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['block', 'timestep', f'{args.eval_split}_top1'])
        for b, name in enumerate(args.blocks):
            for t, step in enumerate(args.timesteps):
                writer.writerow([name, step, f'{acc[b, t]:.2f}'])
    source = args.pretrained or 'random init'
    plot(acc, args.blocks, args.timesteps, osp.join(args.out_dir, 'probe_sweep.png'),
         f'linear probe on {osp.basename(args.data)} ({len(ytr)} train), U-Net: {source}')
    b, t = np.unravel_index(acc.argmax(), acc.shape)
    print(f'best: block {args.blocks[b]} at t={args.timesteps[t]}: {acc[b, t]:.2f}% '
          f'({time.time() - start:.0f}s); wrote {args.out_dir}/probe_sweep.(csv|png)')


if __name__ == '__main__':
    main()
