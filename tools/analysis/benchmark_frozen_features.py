"""The frozen-feature fast paths, side by side in one run on the shipped teacher's pooled
features (one block, one timestep):

* ``cache``: a linear probe trained for a few epochs with and without
  ``DiffusionUNet(cache_features=True)`` (same seed and data order): the time of each epoch,
  first / later epochs, and the val accuracy of both;
* ``bf16``: best-of-N time of a batch of features with fp32 weights,
  ``weights_dtype='bfloat16'`` and ``autocast='bfloat16'``, and the linear-probe accuracy of
  each (train -> val).

    python tools/analysis/benchmark_frozen_features.py [--only cache bf16]
        [--pretrained checkpoints/ddpm-shapes32] [--block up.0.pre] [--timestep 300]
"""
import argparse
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.evaluation import linear_probe_accuracy  # noqa: E402
from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402


def extractor(args, **kw) -> DiffusionUNet:
    return DiffusionUNet(pretrained=args.pretrained, subfolder='unet', blocks=[args.block],
                         timesteps=args.timestep, out_type='pooled', data_mean=[127.5] * 3,
                         data_std=[127.5] * 3, **kw)


@torch.no_grad()
def features(bb, x, batch):
    return torch.cat([bb(x[i:i + batch])[0].float() for i in range(0, len(x), batch)])


def probe_epochs(bb, args, train, val):
    """Epoch times of a linear probe trained on ``bb``'s features; its val top-1."""
    torch.manual_seed(0)
    head = torch.nn.Linear(bb.out_channels[0], 6)
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    (x, y), (xv, yv) = train, val
    times = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        start = time.perf_counter()
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            with torch.no_grad():
                feat = bb(x[idx])[0]
            loss = F.cross_entropy(head(feat), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        return times, float((head(bb(xv)[0]).argmax(1) == yv).float().mean()) * 100


def bench_cache(args, train, val):
    res = {name: probe_epochs(extractor(args, cache_features=name == 'cached'), args, train, val)
           for name in ('plain', 'cached')}
    for name, (times, acc) in res.items():
        print(f'{name:7s} epochs (s): {" ".join(f"{t:.2f}" for t in times)}  val top-1 {acc:.2f}')

    def later(times):
        return sum(times[1:]) / max(len(times) - 1, 1)

    cached, plain = res['cached'][0], res['plain'][0]
    print(f'cached: first epoch / later epochs = {cached[0] / later(cached):.1f}x; later '
          f'epochs {later(plain) / later(cached):.1f}x faster than without the cache; '
          f'accuracy difference {res["cached"][1] - res["plain"][1]:+.2f} points')


def bench_bf16(args, train, val):
    variants = {'fp32': extractor(args), 'bf16 weights': extractor(args, weights_dtype='bfloat16'),
                'bf16 autocast': extractor(args, autocast='bfloat16')}
    batch = train[0][:args.batch]
    best = {name: float('inf') for name in variants}
    for _ in range(args.repeats):  # interleaved: drifts hit all variants alike
        for name, bb in variants.items():
            start = time.perf_counter()
            features(bb, batch, args.batch)
            best[name] = min(best[name], time.perf_counter() - start)
    n = args.probe_images
    acc = {name: linear_probe_accuracy(features(bb, train[0][:n], args.batch), train[1][:n],
                                       features(bb, val[0][:n], args.batch), val[1][:n], 6)
           for name, bb in variants.items()}
    for name in variants:
        print(f'{name:14s} {1000 * best[name]:8.1f} ms / batch of {args.batch}  '
              f'speed-up {best["fp32"] / best[name]:.2f}x  probe val top-1 {acc[name]:.2f} '
              f'({acc[name] - acc["fp32"]:+.2f})')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='+', choices=['cache', 'bf16'], default=['cache', 'bf16'])
    parser.add_argument('--pretrained', default='checkpoints/ddpm-shapes32')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--block', default='up.0.pre')
    parser.add_argument('--timestep', type=int, default=300)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--epochs', type=int, default=3, help='cache: probe epochs')
    parser.add_argument('--repeats', type=int, default=5, help='bf16: timed batches')
    parser.add_argument('--probe-images', type=int, default=1000, help='bf16: train and val')
    args = parser.parse_args(argv)
    train = read_cls_split(args.data, 'annotations/cls_train.txt', 'images/train')
    val = read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val')
    train = ((train[0] - 127.5) / 127.5, train[1])  # what the data preprocessor gives
    val = ((val[0] - 127.5) / 127.5, val[1])
    for what in args.only:
        print(f'== {what}')
        (bench_cache if what == 'cache' else bench_bf16)(args, train, val)


if __name__ == '__main__':
    main()
