"""Generate the Shapes dataset in the mmpretrain, mmseg and mmpose standard formats.

    python tools/dataset_converters/shapes.py data/shapes32 --size 32
    python tools/dataset_converters/shapes.py data/shapes64 --size 64 --num-train 4000

Writes images/, masks/, annotations/ (cls_*.txt, seg_*.txt, kpt_*.json, also for the
labelled subsets train_1pct / train_10pct), meta.json and contact_sheet.png. The generator
itself is :func:`mmdiffrep.datasets.shapes.generate_shapes`.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.datasets.shapes import generate_shapes  # noqa: E402
from mmdiffrep.utils.config import refuse_overwrite  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder, e.g. data/shapes32')
    parser.add_argument('--size', type=int, default=32, help='image side in pixels (>= 16)')
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=500)
    parser.add_argument('--num-test', type=int, default=500)
    parser.add_argument('--labelled-fractions', type=float, nargs='*', default=[0.01, 0.1],
                        help='fractions of train written as labelled subsets')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-contact-sheet', action='store_true')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dataset')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    refuse_overwrite(osp.join(args.out_dir, 'meta.json'), args.overwrite, 'a Shapes dataset')
    start = time.time()
    meta = generate_shapes(args.out_dir, size=args.size, num_train=args.num_train,
                           num_val=args.num_val, num_test=args.num_test,
                           labelled_fractions=args.labelled_fractions, seed=args.seed,
                           contact_sheet=not args.no_contact_sheet, progress=True)
    print(json.dumps(meta['splits']), json.dumps(meta['labelled_subsets']))
    print(f'Shapes ({args.size}px) written to {args.out_dir} in {time.time() - start:.1f}s')


if __name__ == '__main__':
    main()
