"""Compare diffusion teachers in one feature space: the pooled-probe grid on val selects a
(block, t) cell per teacher, that cell is scored once on test; Fréchet distance of ``--num``
DDIM-50 samples to real val and test images in a Shapes classifier's features; predicted
class shares of the samples. The real-images row (val vs test) is the floor.

    python tools/analysis/compare_teachers.py new=checkpoints/ddpm-shapes32 old=OLD_DIR \
        --classifier configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py CLS_CKPT \
        [--out work_dirs/compare_teachers.json]
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.diffusion import load_scheduler, load_unet  # noqa: E402
from teacher_curve import probe_grid  # noqa: E402
from sample_quality import classify, frechet_distance, generate, load_classifier  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('teachers', nargs='+', help='NAME=diffusers folder')
    parser.add_argument('--classifier', nargs=2, required=True, metavar=('CONFIG', 'CKPT'))
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--blocks', nargs='+', default=['down.1', 'mid', 'up.0.pre', 'up.1.pre'])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[0, 50, 150, 300])
    parser.add_argument('--num', type=int, default=250)
    parser.add_argument('--out', default='work_dirs/compare_teachers.json')
    args = parser.parse_args(argv)
    split = {s: read_cls_split(args.data, f'annotations/cls_{s}.txt', f'images/{s}')
             for s in ('train', 'val', 'test')}
    clf, dp = load_classifier(*args.classifier)
    refs = {s: classify(clf, split[s][0][:args.num] / 255, dp.mean, dp.std)[0]
            for s in ('val', 'test')}
    out = {}
    for name, folder in (t.split('=', 1) for t in args.teachers):
        grid = probe_grid(folder, None, args.blocks, args.timesteps,
                          (split['train'], split['val']))
        b, t = np.unravel_index(grid.argmax(), grid.shape)
        cell = [args.blocks[b], args.timesteps[t]]
        test = probe_grid(folder, None, cell[:1], cell[1:], (split['train'], split['test']))
        torch.manual_seed(0)
        imgs = generate(load_unet(folder, subfolder='unet').eval(), load_scheduler(folder),
                        args.num, 50, 125, 0)
        feats, pred = classify(clf, imgs, dp.mean, dp.std)
        out[name] = dict(best_probe_val=float(grid.max()), cell=cell,
                         probe_test=float(test[0, 0]),
                         fd_val=frechet_distance(feats, refs['val']),
                         fd_test=frechet_distance(feats, refs['test']),
                         class_share=(np.bincount(pred, minlength=6) / len(pred)).round(3).tolist())
        print(name, out[name], flush=True)
    real, _ = classify(clf, split['val'][0][args.num:2 * args.num] / 255, dp.mean, dp.std)
    out['real_val_vs_test_fd'] = frechet_distance(real, refs['test'])
    print(out)
    with open(args.out, 'w') as f:
        json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
