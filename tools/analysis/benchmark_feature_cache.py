"""Frozen-feature reuse, side by side: a linear probe on a frozen DiffusionUNet trained for a few
epochs with and without ``cache_features``, the same seed and data order; prints the time of
each epoch, the ratio first / later epochs and the val accuracy of both.

    python tools/analysis/benchmark_feature_cache.py [--pretrained checkpoints/ddpm-shapes32]
        [--block up.0.pre] [--timestep 300] [--epochs 3] [--limit 2000]
"""
import argparse
import os.path as osp
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402


def run(cache: bool, args, train, val):
    torch.manual_seed(0)
    bb = DiffusionUNet(pretrained=args.pretrained, subfolder='unet', blocks=[args.block],
                       timesteps=args.timestep,
                       out_type='pooled', data_mean=[127.5] * 3, data_std=[127.5] * 3,
                       cache_features=cache)
    head = torch.nn.Linear(bb.out_channels[0], 6)
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    (x, y), (xv, yv) = train, val
    x, xv = (x - 127.5) / 127.5, (xv - 127.5) / 127.5  # what the data preprocessor gives
    times = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        start = time.perf_counter()
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            with torch.no_grad():
                feat = bb(x[idx])[0]
            loss = torch.nn.functional.cross_entropy(head(feat), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        acc = float((head(bb(xv)[0]).argmax(1) == yv).float().mean()) * 100
    return times, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pretrained', default='checkpoints/ddpm-shapes32')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--block', default='up.0.pre')
    parser.add_argument('--timestep', type=int, default=300)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--limit', type=int, default=2000)
    args = parser.parse_args(argv)
    train = read_cls_split(args.data, 'annotations/cls_train.txt', 'images/train', args.limit)
    val = read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val', 500)
    res = {name: run(name == 'cached', args, train, val) for name in ('plain', 'cached')}
    for name, (times, acc) in res.items():
        print(f'{name:7s} epochs (s): {" ".join(f"{t:.2f}" for t in times)}  val top-1 {acc:.2f}')

    def later(times):
        return sum(times[1:]) / max(len(times) - 1, 1)

    cached, plain = res['cached'][0], res['plain'][0]
    print(f'cached: first epoch / later epochs = {cached[0] / later(cached):.1f}x; later '
          f'epochs {later(plain) / later(cached):.1f}x faster than without the cache; '
          f'accuracy difference {res["cached"][1] - res["plain"][1]:+.2f} points')


if __name__ == '__main__':
    main()
