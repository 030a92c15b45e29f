"""How Shapes-like are a diffusion model's samples? A Fréchet distance in the feature space of
a Shapes classifier (FID with a Shapes network instead of Inception), with reference rows.

    python tools/analysis/sample_quality.py checkpoints/ddpm-shapes32 \
        --random-unet configs/_base_/models/unet_shapes32.py \
        --classifier configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py \
            work_dirs/baselines/cls_seed0/best_accuracy_top1_epoch_30.pth

Class-conditional U-Nets (``num_class_embeds``) sample balanced labels (image i gets class
``i mod classes``); ``--guidance-scales 0 1 2 4`` adds one row per classifier-free guidance
scale (0: the null class alone, i.e. unconditional; 1: plain conditional), with the null class
``--null-label`` (default: the last class embedding, as ``DDPM(label_dropout=...)`` trains it).

RCG (representation-conditioned generation, two-stage): ``--rcg DDPM_CONFIG DDPM_CKPT RDM_CONFIG
RDM_CKPT`` samples representations from the representation diffusion model, then images from
the representation-conditioned DDPM (both with their EMA weights), one row per
``--guidance-scales`` value (0: the null vector alone, the DDPM's unconditional branch; default
1, plain two-stage sampling). ``--rcg-real-representations`` conditions on the encoder's
representations of the real val images instead (an oracle for stage 1: is a poor RCG row the
representation sampler's fault or the conditioned DDPM's?).

Rows: each model's ``--num`` DDIM samples vs the real test images; ``real val`` (the same
number of real images from another split: the floor) and, with ``--random-unet``, samples of an
untrained U-Net of that architecture (the ceiling). Also the share of samples the classifier
assigns to each class (real data is balanced). Writes ``{out-dir}/sample_quality.md`` and a
sample grid PNG per model.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch
from scipy import linalg
from tqdm import tqdm

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401
from mmdiffrep.diffusion import build_unet, load_scheduler, load_unet  # noqa: E402
from mmdiffrep.diffusion.sampling import sample_images  # noqa: E402
from mmdiffrep.datasets import read_cls_split  # noqa: E402
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from experiments import markdown_table  # noqa: E402
from mmdiffrep.utils.images import make_grid  # noqa: E402


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2)**2).sum() + np.trace(s1 + s2 - 2 * covmean))


def load_classifier(config, checkpoint):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval(), cfg.data_preprocessor


@torch.no_grad()
def classify(model, images01: torch.Tensor, mean, std, batch=250):
    """(pooled features, predicted class) of images in [0, 1] (RGB)."""
    feats, preds = [], []
    mean, std = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    for i in range(0, len(images01), batch):
        x = (images01[i:i + batch] * 255 - mean) / std
        f = model.extract_feat(x)  # neck output: a tuple of (N, C) pooled features
        feats.append(f[-1].flatten(1))
        preds.append(model.head(f).argmax(1))
    return torch.cat(feats).numpy().astype(np.float64), torch.cat(preds).numpy()


def generate(unet, scheduler, num, steps, batch, seed, num_classes=None, guidance_scale=None,
             null_label=None):
    """``num`` samples in [0, 1]; with ``num_classes``, balanced labels ``i mod num_classes``
    (and classifier-free guidance when ``guidance_scale`` is given)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in tqdm(range(0, num, batch), desc='sampling', unit='batch'):
        n = min(batch, num - i)
        labels = None if num_classes is None else torch.arange(i, i + n) % num_classes
        out.append(sample_images(unet, scheduler.config, n, steps, labels=labels,
                                 generator=gen, guidance_scale=guidance_scale,
                                 null_label=null_label))
    return (torch.cat(out) + 1) / 2


def conditional_runs(unet, scales, null_label):
    """``[(tag, kwargs of generate)]`` for a U-Net: one unconditional run, or for a
    class-conditional one a run per guidance scale (plain conditional without ``scales``)."""
    table = unet.config.num_class_embeds
    if table is None:
        if scales:
            raise ValueError('--guidance-scales needs a class-conditional U-Net '
                             '(num_class_embeds)')
        return [('', {})]
    if not scales:
        return [('conditional', dict(num_classes=table))]
    null = table - 1 if null_label is None else null_label
    if not 0 <= null < table:
        raise ValueError(f'--null-label {null} is outside the U-Net\'s {table} class embeddings')
    return [(f'CFG w={w:g}', dict(num_classes=table - 1, guidance_scale=w, null_label=null))
            for w in scales]


def load_trained(config: str, checkpoint: str):
    """An ``mmdiffrep`` model built from ``config`` with the EMA weights of a training
    ``checkpoint`` (frozen encoders come from their own ``init_cfg``, they are not saved)."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    cfg = Config.fromfile(config)
    # as the Runner builds it: the config's scope resolves its unprefixed types
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdiffrep')):
        model = MODELS.build(cfg.model)
    from mmdiffrep.utils.checkpoints import ema_weights
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    model.load_state_dict(ema_weights(ckpt, f'file: {checkpoint}'), strict=True)
    return model.eval()


def generate_rcg(ddpm, rdm, num, steps, batch, seed, guidance_scale, real=None):
    """``num`` two-stage RCG samples in [0, 1]: representations from ``rdm``, then images;
    with ``real`` (images in [0, 1]), the frozen encoder's representations of those images
    instead of sampled ones (the oracle that separates stage 1 from stage 2)."""
    from mmdiffrep.models.algorithms.rcg import sample_two_stage
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in tqdm(range(0, num, batch), desc='sampling (RCG)', unit='batch'):
        n = min(batch, num - i)
        if real is None:
            out.append(sample_two_stage(rdm, ddpm, n, steps, guidance_scale=guidance_scale,
                                        generator=gen))
        else:
            r = ddpm.representation.encoder(real[i:i + n].float() * 2 - 1)
            out.append(ddpm.sample(n, steps=steps, representations=r, generator=gen,
                                   guidance_scale=guidance_scale))
    return (torch.cat(out) + 1) / 2


def save_grid(images01, path, n=64):
    """The first ``n`` images (in [0, 1]) as a PNG grid, enlarged 3x."""
    from PIL import Image
    grid = Image.fromarray(make_grid(images01[:n] * 2 - 1))
    grid.resize((grid.width * 3, grid.height * 3), Image.NEAREST).save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('models', nargs='*', help='diffusers pipeline folders (unet/, scheduler/)')
    parser.add_argument('--rcg', nargs=4, metavar=('DDPM_CONFIG', 'DDPM_CKPT', 'RDM_CONFIG',
                                                   'RDM_CKPT'),
                        help='two-stage RCG sampling (see the module docstring)')
    parser.add_argument('--rcg-real-representations', action='store_true',
                        help='--rcg: condition on the encoder\'s representations of the real '
                             'val images instead of sampled ones (separates the stages)')
    parser.add_argument('--classifier', nargs=2, required=True, metavar=('CONFIG', 'CKPT'))
    parser.add_argument('--random-unet', help='config file with `unet_cfg` (ceiling row)')
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--num', type=int, default=500)
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument('--batch', type=int, default=125)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--guidance-scales', type=float, nargs='+', default=None,
                        help='classifier-free guidance scales (class-conditional U-Nets)')
    parser.add_argument('--null-label', type=int, default=None,
                        help='the null class of CFG (default: the last class embedding)')
    parser.add_argument('--out-dir', default='work_dirs/sample_quality')
    args = parser.parse_args(argv)
    if not args.models and not args.rcg:
        parser.error('give diffusers model folders and/or --rcg')
    if args.rcg_real_representations and not args.rcg:
        parser.error('--rcg-real-representations needs --rcg')
    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    clf, dp = load_classifier(*args.classifier)
    real_test, test_labels = read_cls_split(args.data, 'annotations/cls_test.txt',
                                            'images/test', args.num)
    ref_feats, _ = classify(clf, real_test / 255, dp.mean, dp.std)

    real_val, _ = read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val', args.num)
    sources = [('real val images (floor)', real_val / 255)]
    for folder in args.models:
        unet = load_unet(folder, subfolder='unet').eval()
        name = osp.basename(folder.rstrip('/'))
        for tag, kwargs in conditional_runs(unet, args.guidance_scales, args.null_label):
            imgs = generate(unet, load_scheduler(folder), args.num, args.steps, args.batch,
                            args.seed, **kwargs)
            suffix = tag.replace('CFG w=', '_w').replace('conditional', '_cond')
            save_grid(imgs, osp.join(args.out_dir, f'samples_{name}{suffix}.png'))
            sources.append((f'samples of `{folder}`' + (f' ({tag})' if tag else ''), imgs))
    if args.rcg:
        ddpm, rdm = load_trained(*args.rcg[:2]), load_trained(*args.rcg[2:])
        if getattr(ddpm, 'representation', None) is None:
            raise ValueError(f'--rcg: {args.rcg[0]} is not a representation-conditioned DDPM '
                             '(model.representation)')
        real = real_val / 255 if args.rcg_real_representations else None
        for w in args.guidance_scales or [1.0]:
            imgs = generate_rcg(ddpm, rdm, args.num, args.steps, args.batch, args.seed, w, real)
            tag = '_realrep' if real is not None else ''
            save_grid(imgs, osp.join(args.out_dir, f'samples_rcg{tag}_w{w:g}.png'))
            what = ('RCG samples conditioned on real val representations' if real is not None
                    else 'RCG two-stage samples')
            sources.append((f'{what} (`{args.rcg[1]}`, CFG w={w:g})', imgs))
    if args.random_unet:
        from mmengine.config import Config
        unet = build_unet(Config.fromfile(args.random_unet).unet_cfg).eval()
        imgs = generate(unet, load_scheduler(None), args.num, args.steps, args.batch, args.seed)
        save_grid(imgs, osp.join(args.out_dir, 'samples_random_unet.png'))
        sources.append(('samples of an untrained U-Net (ceiling)', imgs))

    rows = []
    classes = int(test_labels.max()) + 1
    for name, imgs in sources:
        feats, preds = classify(clf, imgs, dp.mean, dp.std)
        share = np.bincount(preds, minlength=classes) / len(preds)
        rows.append((name, len(imgs), f'{frechet_distance(feats, ref_feats):.2f}',
                     ' / '.join(f'{100 * s:.0f}' for s in share)))
    table = markdown_table(('images', 'n', 'Fréchet distance to real test (Shapes classifier '
                            'features)', 'predicted class shares (%)'), rows)
    with open(osp.join(args.out_dir, 'sample_quality.md'), 'w') as f:
        f.write(table + '\n')
    print(table)


if __name__ == '__main__':
    main()
