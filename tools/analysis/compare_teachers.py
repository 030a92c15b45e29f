"""Compare diffusion teachers in one feature space: the pooled-probe grid on val selects a
(block, t) cell per teacher, that cell is scored once on test; FD of 250 DDIM-50 samples to
real val and test images in a Shapes classifier's features; predicted class shares.

    python tools/analysis/compare_teachers.py NAME=DIFFUSERS_DIR [NAME=DIR ...] \
        --classifier CLS_CONFIG CLS_CKPT [--out work_dirs/compare_teachers.json]
"""
import argparse
import json
import os.path as osp
import sys
HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
import numpy as np, torch
from teacher_curve import probe_grid, read_cls_split, load_classifier, classify, generate, frechet_distance
from mmdiffrep.diffusion import load_scheduler, load_unet
blocks, ts = ['down.1', 'mid', 'up.0.pre', 'up.1.pre'], [0, 50, 150, 300]
tr = read_cls_split('data/shapes32', 'annotations/cls_train.txt', 'images/train')
va = read_cls_split('data/shapes32', 'annotations/cls_val.txt', 'images/val')
te = read_cls_split('data/shapes32', 'annotations/cls_test.txt', 'images/test')
parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
parser.add_argument('teachers', nargs='+', help='NAME=diffusers folder')
parser.add_argument('--classifier', nargs=2, required=True, metavar=('CONFIG', 'CKPT'))
parser.add_argument('--out', default='work_dirs/compare_teachers.json')
args = parser.parse_args()
clf, dp = load_classifier(*args.classifier)
ref_va, _ = classify(clf, va[0][:250] / 255, dp.mean, dp.std)
ref_te, _ = classify(clf, te[0][:250] / 255, dp.mean, dp.std)
out = {}
for name, folder in (t.split('=', 1) for t in args.teachers):
    row = {}
    g = probe_grid(folder, None, blocks, ts, (tr, va))
    row['best_probe_val'] = float(g.max())
    b, t = np.unravel_index(g.argmax(), g.shape)
    row['cell'] = [blocks[b], ts[t]]
    row['probe_test'] = float(probe_grid(folder, None, [blocks[b]], [ts[t]], (tr, te))[0, 0])
    unet = load_unet(folder, subfolder='unet').eval()
    torch.manual_seed(0)
    imgs = generate(unet, load_scheduler(folder), 250, 50, 125, 0)
    f, pred = classify(clf, imgs, dp.mean, dp.std)
    row['fd_val'] = frechet_distance(f, ref_va); row['fd_test'] = frechet_distance(f, ref_te)
    row['class_share'] = (np.bincount(pred, minlength=6) / len(pred)).round(3).tolist()
    out[name] = row
    print(name, row, flush=True)
fr, _ = classify(clf, va[0][250:500] / 255, dp.mean, dp.std)
out['real_val_vs_test_fd'] = frechet_distance(fr, ref_te)
print(out)
with open(args.out, 'w') as f:
    json.dump(out, f, indent=1)
