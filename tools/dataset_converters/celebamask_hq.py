"""Convert CelebAMask-HQ into mmseg's format: 19-class label maps and a SEEDED split.

    python tools/dataset_converters/celebamask_hq.py /path/to/CelebAMask-HQ data/celebamask_hq \
        [--seed 0] [--val 0.1] [--test 0.1]

Input (the official release): ``CelebA-HQ-img/{i}.jpg`` (1024 px) and
``CelebAMask-HQ-mask-anno/{i // 2000}/{i:05d}_{part}.png`` (512 px binary masks of 18 parts).
Output: ``images/{i}.jpg`` (resized to the masks' 512 px), ``masks/{i}.png`` (0 = background,
1..18 = the parts in ``PARTS`` order; a later part overwrites an earlier one where they
overlap, hair and cloth last-but-one as in the common preprocessing) and ``splits/{train,
val,test}.txt``: a random split with a fixed seed (the public RepFusion code split without a
seed, and distilled on all 30k images including its evaluation images: distil on ``train``).
"""
import argparse
import os
import os.path as osp
import random

import numpy as np
from PIL import Image
from tqdm import tqdm

PARTS = ('skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow', 'r_brow', 'l_ear', 'r_ear',
         'mouth', 'u_lip', 'l_lip', 'hair', 'hat', 'ear_r', 'neck_l', 'neck', 'cloth')
CLASSES = ('background', ) + PARTS


def label_map(mask_dir: str, index: int, size: int = 512) -> np.ndarray:
    label = np.zeros((size, size), np.uint8)
    folder = osp.join(mask_dir, str(index // 2000))
    for cls, part in enumerate(PARTS, start=1):
        path = osp.join(folder, f'{index:05d}_{part}.png')
        if osp.exists(path):
            m = np.array(Image.open(path).convert('L').resize((size, size), Image.NEAREST))
            label[m > 127] = cls
    return label


def split_ids(ids, seed: int, val: float, test: float):
    ids = sorted(ids)
    random.Random(seed).shuffle(ids)
    n_val, n_test = round(len(ids) * val), round(len(ids) * test)
    return dict(val=sorted(ids[:n_val]), test=sorted(ids[n_val:n_val + n_test]),
                train=sorted(ids[n_val + n_test:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='CelebAMask-HQ root (CelebA-HQ-img/, CelebAMask-HQ-mask-anno/)')
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--val', type=float, default=0.1)
    parser.add_argument('--test', type=float, default=0.1)
    parser.add_argument('--size', type=int, default=512)
    args = parser.parse_args(argv)
    img_dir = osp.join(args.src, 'CelebA-HQ-img')
    mask_dir = osp.join(args.src, 'CelebAMask-HQ-mask-anno')
    for d in (img_dir, mask_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(f'{d} not found: is {args.src!r} the CelebAMask-HQ root?')
    ids = [int(osp.splitext(f)[0]) for f in os.listdir(img_dir) if f.endswith('.jpg')]
    if not ids:
        raise FileNotFoundError(f'no images in {img_dir}')
    for sub in ('images', 'masks', 'splits'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    for i in tqdm(sorted(ids), desc='CelebAMask-HQ', unit='img'):
        Image.open(osp.join(img_dir, f'{i}.jpg')).convert('RGB').resize(
            (args.size, args.size), Image.BICUBIC).save(osp.join(args.out, 'images', f'{i}.jpg'),
                                                        quality=95)
        Image.fromarray(label_map(mask_dir, i, args.size)).save(
            osp.join(args.out, 'masks', f'{i}.png'))
    for name, part in split_ids(ids, args.seed, args.val, args.test).items():
        with open(osp.join(args.out, 'splits', f'{name}.txt'), 'w') as f:
            f.write('\n'.join(str(i) for i in part) + '\n')
        print(f'{name}: {len(part)} images')


if __name__ == '__main__':
    main()
