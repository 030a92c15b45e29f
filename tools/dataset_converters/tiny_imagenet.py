"""Write mmpretrain annotation lists for Tiny-ImageNet-200 (the official zip, unpacked).

    python tools/dataset_converters/tiny_imagenet.py data/tiny-imagenet-200

Reads ``wnids.txt`` (the class order), ``train/<wnid>/images/*.JPEG`` and
``val/val_annotations.txt``; writes ``meta/train.txt`` and ``meta/val.txt`` (``path label``
lines relative to the root, as mmpretrain's ``CustomDataset`` reads them) and
``meta/classes.txt``. The official test split has no labels; val serves as the test set.
"""
import argparse
import os
import os.path as osp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='the unpacked tiny-imagenet-200 folder')
    args = parser.parse_args(argv)
    wnids_file = osp.join(args.root, 'wnids.txt')
    if not osp.isfile(wnids_file):
        raise FileNotFoundError(f'{wnids_file} not found: is {args.root!r} tiny-imagenet-200?')
    wnids = [w.strip() for w in open(wnids_file) if w.strip()]
    label = {w: i for i, w in enumerate(wnids)}
    train = []
    for w in wnids:
        folder = osp.join('train', w, 'images')
        for f in sorted(os.listdir(osp.join(args.root, folder))):
            if f.lower().endswith(('.jpeg', '.jpg', '.png')):
                train.append(f'{folder}/{f} {label[w]}')
    val = []
    for line in open(osp.join(args.root, 'val', 'val_annotations.txt')):
        parts = line.split('\t')
        if len(parts) >= 2:
            if parts[1] not in label:
                raise ValueError(f'val image {parts[0]} has class {parts[1]!r}, not in wnids.txt')
            val.append(f'val/images/{parts[0]} {label[parts[1]]}')
    os.makedirs(osp.join(args.root, 'meta'), exist_ok=True)
    for name, lines in (('train', train), ('val', val), ('classes', wnids)):
        with open(osp.join(args.root, 'meta', f'{name}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    print(f'{len(wnids)} classes, {len(train)} train / {len(val)} val images')


if __name__ == '__main__':
    main()
