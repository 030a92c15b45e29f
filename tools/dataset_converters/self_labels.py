"""Self-labels for self-guided diffusion (survey §3.2.1): cluster a frozen encoder's features of
the training images with k-means and write the clusters as a classification annotation file.

    python tools/dataset_converters/self_labels.py \
        configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py ENCODER_CKPT \
        --data data/shapes32 --k 6 --out annotations/cls_train_selflabels_k6.txt

The encoder is the ``model.backbone`` of CONFIG (any toolbox) with the weights of CKPT
(``--prefix``, default ``backbone.``), fed with the config's data-preprocessor normalisation;
its last output, global-average pooled and L2-normalised, is clustered (k-means++ init, seeded,
best of ``--restarts``). The output lists ``filename cluster`` in the toolbox's own format
(mmpretrain ``CustomDataset``), next to the dataset's other annotation files, so a
class-conditional DDPM config only changes its ``ann_file``. The clusters are scored against
the true labels where the source list has them (purity, NMI), for information only: the labels
are never used to make the clusters. Refuses to overwrite an existing file unless
``--overwrite``.
"""
import argparse
import math
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401
from mmdiffrep.datasets import read_cls_split  # noqa: E402
from mmdiffrep.models.utils import as_tuple  # noqa: E402


def kmeans(x: torch.Tensor, k: int, iters: int = 100, seed: int = 0,
           restarts: int = 4) -> torch.Tensor:
    """Cluster indices (N,) of the rows of ``x``: Lloyd iterations from k-means++ seeds, the
    restart with the lowest inertia."""
    if not 1 <= k <= len(x):
        raise ValueError(f'k={k} must be in [1, {len(x)}] (the number of images)')
    gen = torch.Generator().manual_seed(seed)
    best, best_inertia = None, math.inf
    for _ in range(restarts):
        centres = x[torch.randint(len(x), (1, ), generator=gen)]
        for _ in range(1, k):
            d = torch.cdist(x, centres).min(1).values.pow(2)
            centres = torch.cat([centres, x[torch.multinomial(d / d.sum(), 1, generator=gen)]])
        for _ in range(iters):
            assign = torch.cdist(x, centres).argmin(1)
            new = torch.stack([x[assign == j].mean(0) if (assign == j).any() else centres[j]
                               for j in range(k)])
            if torch.allclose(new, centres):
                break
            centres = new
        inertia = float(torch.cdist(x, centres).min(1).values.pow(2).sum())
        if inertia < best_inertia:
            best, best_inertia = torch.cdist(x, centres).argmin(1), inertia
    return best


def purity_and_nmi(clusters: torch.Tensor, labels: torch.Tensor):
    joint = torch.zeros(int(clusters.max()) + 1, int(labels.max()) + 1)
    joint.index_put_((clusters, labels), torch.ones(len(labels)), accumulate=True)
    purity = float(joint.max(1).values.sum() / len(labels))
    p = joint / joint.sum()
    pc, pl = p.sum(1, keepdim=True), p.sum(0, keepdim=True)
    nz = p > 0
    mi = float((p[nz] * (p[nz] / (pc @ pl)[nz]).log()).sum())
    h = lambda q: float(-(q[q > 0] * q[q > 0].log()).sum())  # noqa: E731
    return purity, mi / max(math.sqrt(h(pc) * h(pl)), 1e-12)


@torch.no_grad()
def encode(config: str, checkpoint: str, prefix: str, images: torch.Tensor,
           batch: int = 256) -> torch.Tensor:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmdiffrep.registry import MODELS
    cfg = Config.fromfile(config)
    dp = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    mean = torch.tensor(dp.get('mean', [0.0] * 3)).view(1, -1, 1, 1)
    std = torch.tensor(dp.get('std', [1.0] * 3)).view(1, -1, 1, 1)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        backbone = MODELS.build(cfg.model.backbone)
    load_checkpoint(backbone, checkpoint, map_location='cpu', revise_keys=[
        (f'^{prefix}', '')] if prefix else [], strict=False, logger='silent')
    backbone.eval()
    feats = []
    for i in range(0, len(images), batch):
        out = as_tuple(backbone((images[i:i + batch] - mean) / std))[-1]
        feats.append(out.mean((2, 3)) if out.dim() == 4 else out)
    return torch.nn.functional.normalize(torch.cat(feats).float(), dim=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a config whose model.backbone is the encoder')
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('--prefix', default='backbone.')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--ann-file', default='annotations/cls_train.txt')
    parser.add_argument('--image-dir', default='images/train')
    parser.add_argument('--k', type=int, default=6)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--restarts', type=int, default=4)
    parser.add_argument('--out', required=True, help='annotation file, relative to --data')
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    out = osp.join(args.data, args.out)
    if osp.exists(out) and not args.overwrite:
        raise FileExistsError(f'{out} exists; pass --overwrite to replace it')
    images, labels = read_cls_split(args.data, args.ann_file, args.image_dir)
    names = [line.split()[0] for line in open(osp.join(args.data, args.ann_file)) if line.strip()]
    feats = encode(args.config, args.checkpoint, args.prefix, images)
    clusters = kmeans(feats, args.k, seed=args.seed, restarts=args.restarts)
    with open(out, 'w') as f:
        f.writelines(f'{n} {int(c)}\n' for n, c in zip(names, clusters))
    sizes = torch.bincount(clusters, minlength=args.k).tolist()
    purity, nmi = purity_and_nmi(clusters, labels)
    print(f'{len(names)} images -> {args.k} clusters {sizes}; against the true labels '
          f'(information only): purity {100 * purity:.1f} %, NMI {nmi:.3f}\nwritten: {out}')


if __name__ == '__main__':
    main()
