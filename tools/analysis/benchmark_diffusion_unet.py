"""Speed of mmdiffrep's U-Net feature extraction, as ratios measured side by side in one run.

    python tools/analysis/benchmark_diffusion_unet.py [--unet ddpm-cifar10-32|shapes32]
        [--batch 16] [--size 32] [--repeats 5]

(a) early exit up to block b vs a full forward with hooks, next to the FLOP fraction of the
    truncated U-Net (target: time ratio <= 1.1 x FLOP fraction);
(b) T timesteps batched vs T separate calls (target <= 1.0), in one forward and with
    ``max_forward_batch=--rows`` rows per forward;
(c) UNetFeatureExtractor vs a bare diffusers forward with a hook that stops at the same block
    (target <= 1.05).
Random weights of the published architectures (speed does not depend on the weights).
"""
import argparse
import os.path as osp
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.diffusion import UNetFeatureExtractor, build_unet, resolve_block  # noqa: E402
from mmdiffrep.utils.recorder import StopForward  # noqa: E402

ARCHS = {
    'ddpm-cifar10-32': dict(
        type='UNet2DModel', sample_size=32, block_out_channels=(128, 256, 256, 256),
        layers_per_block=2,
        down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D')),
    'shapes32': dict(
        type='UNet2DModel', sample_size=32, block_out_channels=(32, 64, 64), layers_per_block=2,
        norm_num_groups=8, down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D')),
}


def timeit(fn, repeats):
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def timeit_pair(fn_a, fn_b, repeats):
    """Best-of-``repeats`` times of two functions measured interleaved (a, b, a, b, ...), so
    a change in the machine's load affects both sides alike (the ratio is what is reported)."""
    fn_a(), fn_b()  # warm-up
    best_a = best_b = float('inf')
    for _ in range(repeats):
        for fn, which in ((fn_a, 'a'), (fn_b, 'b')):
            start = time.perf_counter()
            fn()
            took = time.perf_counter() - start
            if which == 'a':
                best_a = min(best_a, took)
            else:
                best_b = min(best_b, took)
    return best_a, best_b


def flops(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--unet', choices=list(ARCHS), default='ddpm-cifar10-32')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--blocks', nargs='+', default=['down.1', 'mid', 'up.1'])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[10, 100, 300])
    parser.add_argument('--rows', type=int, default=16,
                        help='max_forward_batch of the chunked batched arm of (b)')
    parser.add_argument('--only', nargs='+', choices=['a', 'b', 'c'], default=['a', 'b', 'c'],
                        help='measurements to run')
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    from diffusers import DDPMScheduler
    unet = build_unet(ARCHS[args.unet]).eval()
    sch = DDPMScheduler()
    x = torch.randn(args.batch, 3, args.size, args.size)
    t0 = torch.zeros(args.batch, dtype=torch.long)
    print(f'{args.unet}, batch {args.batch}, {args.size}px, {torch.get_num_threads()} threads, '
          f'best of {args.repeats}')

    def hooked_full(name, stop=False):
        module = resolve_block(unet, name)[1]
        store = {}

        def hook(m, a, o):
            store['f'] = o
            if stop:
                raise StopForward

        def run():
            h = module.register_forward_hook(hook)
            try:
                with torch.no_grad():
                    unet(x, t0)
            except StopForward:
                pass
            finally:
                h.remove()
        return run

    if 'a' in args.only:
        print('\n(a) early exit vs full forward with a hook')
        print(f'{"block":<10} {"time ratio":>10} {"FLOP fraction":>14} {"ratio/FLOPs":>12}')
        full_time = None
        for name in args.blocks:
            ext = UNetFeatureExtractor(unet, [name], 0, sch)
            full = hooked_full(name)
            full_time = timeit(full, args.repeats)
            early = lambda: ext(x)  # noqa: E731
            with torch.no_grad():
                early_time = timeit(early, args.repeats)
                frac = flops(early) / flops(full)
            ratio = early_time / full_time
            print(f'{name:<10} {ratio:>10.3f} {frac:>14.3f} {ratio / frac:>12.3f}')

    if 'b' in args.only:
        print('\n(b) T timesteps batched in one forward vs T separate calls')
        name = args.blocks[-1]
        T = len(args.timesteps)
        batched = UNetFeatureExtractor(unet, [name], args.timesteps, sch, noise='fixed')
        chunked = UNetFeatureExtractor(unet, [name], args.timesteps, sch, noise='fixed',
                                       max_forward_batch=args.rows)
        singles = [UNetFeatureExtractor(unet, [name], t, sch, noise='fixed')
                   for t in args.timesteps]
        with torch.no_grad():  # interleaved: the ratios are robust to a busy machine
            tb, ts = timeit_pair(lambda: batched(x), lambda: [s(x) for s in singles],
                                 args.repeats)
            tc, ts2 = timeit_pair(lambda: chunked(x), lambda: [s(x) for s in singles],
                                  args.repeats)
        print(f'T={T} at {name}, {T * args.batch} rows: one forward {tb * 1000:.1f} ms, '
              f'separate {ts * 1000:.1f} ms, ratio {tb / ts:.3f}')
        print(f'T={T} at {name}, max_forward_batch={args.rows}: {tc * 1000:.1f} ms, separate '
              f'{ts2 * 1000:.1f} ms, ratio {tc / ts2:.3f}')

    if 'c' in args.only:
        print('\n(c) UNetFeatureExtractor vs a bare diffusers forward stopped by a hook')
        for name in args.blocks:
            ext = UNetFeatureExtractor(unet, [name], 0, sch)
            with torch.no_grad():
                ours = timeit(lambda: ext(x), args.repeats)
                bare = timeit(hooked_full(name, stop=True), args.repeats)
            print(f'{name:<10} ours {ours * 1000:7.1f} ms, bare {bare * 1000:7.1f} ms, '
                  f'ratio {ours / bare:.3f}')

if __name__ == '__main__':
    main()
