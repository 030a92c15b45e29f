"""Evaluate a DRL encoder's code: linear probe and k-NN on Shapes, at one t or over a t grid.
Also any toolbox model with a ``backbone`` (e.g. an mmpretrain SimCLR encoder): its last
backbone output, globally average-pooled, is the code. ``--target background`` probes a
nuisance instead of the class: the background texture of each image (stripes / checker /
blobs, regenerated from the dataset's seed), to see what else the code encodes.

    python tools/analysis/probe_codes.py configs/drl/drl_resnet18-cifar_1xb64-600it_shapes-32x32.py \
        work_dirs/drl/iter_600.pth [--times 0 0.2 0.4 0.6 0.8 1] --out-dir work_dirs/drl/probe

Without a checkpoint the model is randomly initialised (``--seed``): the random-encoder
baseline. ``--times`` reads a time-conditioned encoder (``mmdiffrep.TimeConditionedEncoder``)
at each t: the probe-vs-t curve of the paper's claim that t sets the code's level of detail.
Codes come from the model's own ``extract_codes`` on images normalised by its data
preprocessor; the probes are fitted on the training list (all labels) and scored on the
evaluation list. Writes ``probe_codes.csv``/``.json``, ``probe_vs_t.png`` (with a t grid) and,
with ``--save-codes``, ``codes.npz`` (codes and labels of both splits, per t).
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmengine.config import Config  # noqa: E402

from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.evaluation import knn_accuracy, linear_probe_accuracy  # noqa: E402
from mmdiffrep.utils.plotting import pyplot, save_figure  # noqa: E402


def build_model(config: str, checkpoint: str = None, seed: int = 0):
    """The model of ``config`` (built in the config's default scope, as the Runner does) with
    the weights of ``checkpoint`` (None: random init)."""
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import load_checkpoint

    from mmdiffrep.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('probe_codes', log_level='WARNING')  # quiet init_weights reports
    torch.manual_seed(seed)
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdiffrep')):
        model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    return model.eval()


@torch.no_grad()
def extract(model, images: torch.Tensor, t=None, batch_size: int = 100) -> torch.Tensor:
    """Codes of raw RGB 0-255 images, normalised as the model's data preprocessor does."""
    from tqdm import tqdm
    dp = model.data_preprocessor
    mean, std = dp.mean.cpu(), dp.std.cpu()  # (3, 1, 1)
    codes = []
    desc = 'codes' if t is None else f'codes at t={t:g}'
    for i in tqdm(range(0, len(images), batch_size), desc=desc, unit='batch', leave=False):
        codes.append(_codes(model, (images[i:i + batch_size] - mean) / std, t))
    return torch.cat(codes).float()


def _codes(model, inputs: torch.Tensor, t=None) -> torch.Tensor:
    """A DRL model's ``extract_codes``; otherwise the pooled last output of its backbone."""
    if hasattr(model, 'extract_codes'):
        return model.extract_codes(inputs, t)
    if not hasattr(model, 'backbone'):
        raise TypeError(f'{type(model).__name__} has neither extract_codes nor a backbone')
    out = model.backbone(inputs)
    out = out[-1] if isinstance(out, (tuple, list)) else out
    return out.mean((2, 3)) if out.dim() == 4 else out.flatten(1)


def evaluate(model, train, evaluation, times=(None, ), k: int = 20):
    """[dict(t, linear, knn)] for each time; ``train``/``evaluation`` are (images, labels)."""
    num_classes = int(max(train[1].max(), evaluation[1].max())) + 1
    rows, codes = [], {}
    for t in times:
        ztr, zev = extract(model, train[0], t), extract(model, evaluation[0], t)
        codes[t] = (ztr, zev)
        rows.append(dict(t=t, linear=linear_probe_accuracy(ztr, train[1], zev, evaluation[1],
                                                           num_classes),
                         knn=knn_accuracy(ztr, train[1], zev, evaluation[1], num_classes, k=k)))
    return rows, codes


def background_labels(root: str, ann_file: str, split: str) -> torch.Tensor:
    """The background texture (index into ``shapes.BACKGROUNDS``) of each image of a Shapes
    classification list, regenerated with the seed and size in ``{root}/meta.json``."""
    from mmdiffrep.datasets.shapes import render_sample
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    files = [line.split()[0] for line in open(osp.join(root, ann_file)) if line.strip()]
    return torch.tensor([render_sample(meta['seed'], split, int(osp.splitext(f)[0]),
                                       meta['size']).background for f in files])


def plot(rows, out_file: str, title: str) -> None:
    plt = pyplot()
    ts = [r['t'] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(ts, [r['linear'] for r in rows], 'o-', label='linear probe')
    ax.plot(ts, [r['knn'] for r in rows], 's--', label='k-NN')
    ax.set_xlabel('encoder time t')
    ax.set_ylabel('top-1 (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, out_file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a DRL config, or any toolbox model with a backbone')
    parser.add_argument('checkpoint', nargs='?', help='training checkpoint (default: random)')
    parser.add_argument('--times', type=float, nargs='+', default=None,
                        help='encoder times for a time-conditioned encoder')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--train-ann', default='annotations/cls_train.txt')
    parser.add_argument('--train-dir', default='images/train')
    parser.add_argument('--eval-ann', default='annotations/cls_test.txt')
    parser.add_argument('--eval-dir', default='images/test')
    parser.add_argument('--k', type=int, default=20, help='neighbours of the k-NN classifier')
    parser.add_argument('--target', choices=['class', 'background'], default='class',
                        help='what the probes predict: the shape class, or the background '
                             'texture (a nuisance factor)')
    parser.add_argument('--seed', type=int, default=0, help='seed of a random init')
    parser.add_argument('--save-codes', action='store_true')
    parser.add_argument('--out-dir', default='work_dirs/probe_codes')
    args = parser.parse_args(argv)
    if not osp.isdir(args.data):
        raise FileNotFoundError(f'--data {args.data!r} does not exist; generate it with '
                                f'python tools/dataset_converters/shapes.py {args.data}')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    start = time.time()
    model = build_model(args.config, args.checkpoint, args.seed)
    if args.times is not None and not getattr(model, 'time_conditioned', False):
        raise ValueError('--times needs a time-conditioned encoder '
                         '(mmdiffrep.TimeConditionedEncoder); this one reads no t')
    times = args.times or [None]
    train = read_cls_split(args.data, args.train_ann, args.train_dir)
    evaluation = read_cls_split(args.data, args.eval_ann, args.eval_dir)
    if args.target == 'background':
        train = (train[0], background_labels(args.data, args.train_ann,
                                             osp.basename(args.train_dir.rstrip('/'))))
        evaluation = (evaluation[0], background_labels(args.data, args.eval_ann,
                                                       osp.basename(args.eval_dir.rstrip('/'))))
    rows, codes = evaluate(model, train, evaluation, times, args.k)

    os.makedirs(args.out_dir, exist_ok=True)
    source = args.checkpoint or f'random init (seed {args.seed})'
    with open(osp.join(args.out_dir, 'probe_codes.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['t', 'linear_top1', 'knn_top1'])
        for r in rows:
            writer.writerow(['' if r['t'] is None else r['t'], f"{r['linear']:.2f}",
                             f"{r['knn']:.2f}"])
    with open(osp.join(args.out_dir, 'probe_codes.json'), 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, seed=args.seed,
                       target=args.target,
                       train=len(train[1]), eval=len(evaluation[1]), k=args.k, rows=rows),
                  f, indent=2)
    if len(times) > 1:
        plot(rows, osp.join(args.out_dir, 'probe_vs_t.png'),
             f'{osp.basename(args.config)[:48]}\n{source}'[:120])
    if args.save_codes:
        arrays = dict(train_labels=train[1].numpy(), eval_labels=evaluation[1].numpy())
        for i, t in enumerate(times):
            arrays[f'train_codes_{i}'], arrays[f'eval_codes_{i}'] = (c.numpy() for c in codes[t])
        arrays['times'] = np.array([np.nan if t is None else t for t in times])
        np.savez(osp.join(args.out_dir, 'codes.npz'), **arrays)
    for r in rows:
        at = '' if r['t'] is None else f" t={r['t']:g}:"
        print(f"{at} linear probe {r['linear']:.2f}%, {args.k}-NN {r['knn']:.2f}%")
    print(f'({time.time() - start:.0f}s, code of {source}); wrote {args.out_dir}')


if __name__ == '__main__':
    main()
