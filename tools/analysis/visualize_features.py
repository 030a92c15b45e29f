"""PCA of DiffusionUNet features mapped to RGB, next to the input images.

    python tools/analysis/visualize_features.py --unet-config configs/_base_/models/unet_shapes32.py \
        [--pretrained DIR] --images data/shapes32/images/val --num 6 \
        --blocks down.1 up.0.pre up.1.pre --timesteps 10 250 --out work_dirs/features.png

For every (block, timestep) the first three principal components of all feature vectors of
the shown images (pixels x images) become the R, G, B channels, so regions the U-Net encodes
alike share a colour. One row per image: the input, then one tile per (block, timestep).
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmengine.config import Config  # noqa: E402

from mmdiffrep.models.backbones import DiffusionUNet  # noqa: E402


def pca_rgb(feats: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, 3, h, w) in [0, 1]: the top-3 principal components per pixel."""
    n, c, h, w = feats.shape
    x = feats.permute(0, 2, 3, 1).reshape(-1, c).double()
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    y = x @ v[:3].T
    lo, hi = y.quantile(0.01, dim=0), y.quantile(0.99, dim=0)
    y = ((y - lo) / (hi - lo + 1e-8)).clamp(0, 1)
    return y.reshape(n, h, w, 3).permute(0, 3, 1, 2).float()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--unet-config', required=True,
                        help='a config file defining `unet_cfg` (the U-Net architecture)')
    parser.add_argument('--pretrained', help='diffusers folder / checkpoint (default: random)')
    parser.add_argument('--images', default='data/shapes32/images/val')
    parser.add_argument('--num', type=int, default=6)
    parser.add_argument('--blocks', nargs='+', default=['down.1', 'up.0.pre', 'up.1.pre'])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[10, 250])
    parser.add_argument('--tile', type=int, default=96, help='tile side in the PNG (px)')
    parser.add_argument('--out', default='work_dirs/features.png')
    args = parser.parse_args(argv)
    if not osp.isdir(args.images):
        raise FileNotFoundError(f'--images folder {args.images!r} does not exist')
    files = sorted(f for f in os.listdir(args.images) if f.endswith(('.png', '.jpg')))
    if not files:
        raise FileNotFoundError(f'no .png / .jpg images in {args.images!r}')
    files = files[:args.num]
    pixels = torch.stack([torch.from_numpy(np.array(
        Image.open(osp.join(args.images, f)).convert('RGB'))).permute(2, 0, 1).float()
        for f in files])
    unet_cfg = Config.fromfile(args.unet_config).unet_cfg.to_dict()
    torch.manual_seed(0)
    backbone = DiffusionUNet(pretrained=args.pretrained, unet_cfg=unet_cfg, blocks=args.blocks,
                             timesteps=args.timesteps, noise='fixed', combine='separate')
    with torch.no_grad():
        outs = backbone((pixels - 127.5) / 127.5)
    tiles = [F.interpolate(pixels / 255, size=args.tile, mode='nearest')]
    labels = ['input']
    for k, feats in enumerate(outs):
        b, t = divmod(k, len(args.timesteps))
        tiles.append(F.interpolate(pca_rgb(feats), size=args.tile, mode='nearest'))
        labels.append(f'{args.blocks[b]} t={args.timesteps[t]}')
    grid = torch.stack(tiles, 1)  # (N, tiles, 3, H, W)
    n, m = grid.shape[:2]
    pad, text_h = 4, 14
    sheet = Image.new('RGB', (m * (args.tile + pad) + pad, text_h + n * (args.tile + pad) + pad),
                      (255, 255, 255))
    from PIL import ImageDraw
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((pad + j * (args.tile + pad), 2), label, fill=(0, 0, 0))
    for i in range(n):
        for j in range(m):
            tile = (grid[i, j].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            sheet.paste(Image.fromarray(tile),
                        (pad + j * (args.tile + pad), text_h + pad + i * (args.tile + pad)))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    sheet.save(args.out)
    print(f'wrote {args.out} ({n} images x {m - 1} block/timestep maps)')


if __name__ == '__main__':
    main()
