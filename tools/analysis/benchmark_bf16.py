"""bf16 vs fp32 for a frozen DiffusionUNet extractor, side by side in one run: best-of-N time of
a batch of pooled features with fp32 weights, with ``weights_dtype='bfloat16'`` and with
``autocast='bfloat16'`` (fp32 weights under ``torch.autocast``); the linear-probe accuracy of each
(train -> val); prints the speed-ups and the accuracy differences.

    python tools/analysis/benchmark_bf16.py [--pretrained checkpoints/ddpm-shapes32]
        [--block up.0.pre] [--timestep 300] [--batch 64] [--repeats 5]
"""
import argparse
import os.path as osp
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.evaluation import linear_probe_accuracy  # noqa: E402
from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402


@torch.no_grad()
def features(bb, x, batch):
    return torch.cat([bb(x[i:i + batch])[0].float() for i in range(0, len(x), batch)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pretrained', default='checkpoints/ddpm-shapes32')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--block', default='up.0.pre')
    parser.add_argument('--timestep', type=int, default=300)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--num', type=int, default=1000, help='train and val images each')
    args = parser.parse_args(argv)
    xtr, ytr = read_cls_split(args.data, 'annotations/cls_train.txt', 'images/train', args.num)
    xva, yva = read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val', args.num)
    xtr, xva = (xtr - 127.5) / 127.5, (xva - 127.5) / 127.5
    kw = dict(pretrained=args.pretrained, subfolder='unet', blocks=[args.block],
              timesteps=args.timestep, out_type='pooled', data_mean=[127.5] * 3,
              data_std=[127.5] * 3)
    variants = {'fp32': DiffusionUNet(**kw),
                'bf16 weights': DiffusionUNet(weights_dtype='bfloat16', **kw),
                'bf16 autocast': DiffusionUNet(autocast='bfloat16', **kw)}
    batch = xtr[:args.batch]
    best = {name: float('inf') for name in variants}
    for _ in range(args.repeats):  # interleaved: drifts hit all variants alike
        for name, bb in variants.items():
            start = time.perf_counter()
            features(bb, batch, args.batch)
            best[name] = min(best[name], time.perf_counter() - start)
    acc = {}
    for name, bb in variants.items():
        acc[name] = linear_probe_accuracy(features(bb, xtr, args.batch), ytr,
                                          features(bb, xva, args.batch), yva, 6)
    for name in variants:
        print(f'{name:14s} {1000 * best[name]:8.1f} ms / batch of {args.batch}  '
              f'speed-up {best["fp32"] / best[name]:.2f}x  probe val top-1 {acc[name]:.2f} '
              f'({acc[name] - acc["fp32"]:+.2f})')


if __name__ == '__main__':
    main()
