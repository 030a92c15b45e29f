"""Compute a prompt's CLIP text embedding once and save it for DiffusionUNet(prompt=...).

    python tools/model_converters/cache_prompt_embeds.py runwayml/stable-diffusion-v1-5 \
        --text "" --out checkpoints/sd15_empty_prompt.pt

Per-class prompts (VPD style, one token per class) from a text file with one prompt per line:

    python tools/model_converters/cache_prompt_embeds.py runwayml/stable-diffusion-v1-5 \
        --class-prompts ade20k_prompts.txt --out checkpoints/sd15_ade20k_classes.pt

Needs `transformers` (run it in any environment that has it); the output is a small file
``dict(text=..., embeds=(L, D) tensor)`` that mmdiffrep loads without transformers.
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.diffusion.prompts import load_prompt_embeds  # noqa: E402
from mmdiffrep.utils.config import refuse_overwrite  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pretrained', help='hub id or folder of a Stable Diffusion pipeline')
    parser.add_argument('--text', default='', help='the prompt (default: the empty prompt)')
    parser.add_argument('--class-prompts',
                        help='text file, one prompt per line: an (N, D) per-class embedding')
    parser.add_argument('--subfolder', default='text_encoder')
    parser.add_argument('--out', required=True)
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    args = parser.parse_args(argv)
    # an existing file would be read back instead of computed (whatever `pretrained` says)
    refuse_overwrite(args.out, args.overwrite, 'a cached prompt embedding')
    text = args.text
    if args.class_prompts:
        with open(args.class_prompts) as f:
            text = [line.strip() for line in f if line.strip()]
    states = load_prompt_embeds(text, args.pretrained, subfolder=args.subfolder)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'  # the old file stays until the new one is complete
    torch.save(dict(text=text, embeds=states, pretrained=args.pretrained), tmp)
    os.replace(tmp, args.out)
    print(f'{text!r}: embedding {tuple(states.shape)} saved to {args.out}')


if __name__ == '__main__':
    main()
