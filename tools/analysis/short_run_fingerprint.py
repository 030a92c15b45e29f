"""Fingerprint short training runs, to show that a refactor changed no behaviour.

Trains one DDPM, one RepFusion (learned policy) and one DRL config for ``--iters``
iterations with a fixed seed (each a ``tools/train.py`` child process), then writes per run the
logged losses of every iteration and the L2 norm of every top-level part of the final
weights to ``--out`` (JSON). Run it before and after a change and compare the two files::

    OMP_NUM_THREADS=1 python tools/analysis/short_run_fingerprint.py --out before.json
    OMP_NUM_THREADS=1 python tools/analysis/short_run_fingerprint.py --out after.json \
        --compare before.json
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys
from collections import defaultdict

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401  (mmengine checkpoints load with weights_only=True)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNS = {
    'ddpm': 'configs/ddpm/ddpm_unet-shapes32_1xb64-1100it_shapes-32x32.py',
    'repfusion_policy': 'configs/repfusion/'
    'repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
    'drl': 'configs/drl/drl_resnet18-cifar_1xb64-600it_shapes-32x32.py',
}
#: log keys renamed by the design consolidation: new name -> old name
RENAMED = {'policy.reward': 'reward', 'policy.entropy': 'policy_entropy'}


def fingerprint(name: str, config: str, iters: int, seed: int, work_root: str) -> dict:
    work = osp.join(work_root, name)
    subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--overwrite',
                    '--cfg-options', f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
                    f'default_hooks.checkpoint.interval={iters}',
                    'default_hooks.logger.interval=1', 'val_cfg=None', 'val_dataloader=None',
                    'val_evaluator=None'], cwd=ROOT, check=True)
    with open(osp.join(ROOT, work, 'last_checkpoint')) as f:
        ckpt = torch.load(f.read().strip(), map_location='cpu', weights_only=True)
    norms = defaultdict(float)
    for key, value in ckpt['state_dict'].items():
        if value.is_floating_point():
            norms[key.split('.')[0]] += float(value.double().pow(2).sum())
    losses = defaultdict(list)
    scalars = sorted(glob.glob(osp.join(ROOT, work, '*', 'vis_data', 'scalars.json')))
    with open(scalars[-1]) as f:
        for line in f:
            rec = json.loads(line)
            for k, v in rec.items():
                if 'loss' in k or k in ('reward', 'policy_entropy', *RENAMED):
                    losses[k].append(v)
    return dict(losses=dict(losses), weight_norms={k: v**0.5 for k, v in sorted(norms.items())})


def compare(new: dict, old: dict) -> None:
    for run, rec in new.items():
        if run not in old:
            continue
        for key, vals in rec['losses'].items():
            ref = old[run]['losses'].get(key, old[run]['losses'].get(RENAMED.get(key)))
            if ref is None:
                print(f'{run:17s} {key:28s} (new key)')
                continue
            diff = max(abs(a - b) for a, b in zip(vals, ref))
            print(f'{run:17s} {key:28s} last {vals[-1]:.6f} vs {ref[-1]:.6f}  max |diff| '
                  f'over {len(vals)} iters {diff:.2e}')
        for key, norm in rec['weight_norms'].items():
            ref = old[run]['weight_norms'].get(key)
            if ref is not None:
                print(f'{run:17s} |{key}| {norm:.6f} vs {ref:.6f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--runs', nargs='+', choices=list(RUNS), default=list(RUNS))
    parser.add_argument('--work-dir', default='work_dirs/fingerprint')
    parser.add_argument('--out', required=True)
    parser.add_argument('--compare', help='an earlier --out file to compare with')
    args = parser.parse_args()
    result = {name: fingerprint(name, RUNS[name], args.iters, args.seed, args.work_dir)
              for name in args.runs}
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=1)
    if args.compare:
        with open(args.compare) as f:
            compare(result, json.load(f))
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()
