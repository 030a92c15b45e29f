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
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.diffusion.prompts import load_prompt_embeds  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pretrained', help='hub id or folder of a Stable Diffusion pipeline')
    parser.add_argument('--text', default='', help='the prompt (default: the empty prompt)')
    parser.add_argument('--class-prompts',
                        help='text file, one prompt per line: an (N, D) per-class embedding')
    parser.add_argument('--subfolder', default='text_encoder')
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    text = args.text
    if args.class_prompts:
        with open(args.class_prompts) as f:
            text = [line.strip() for line in f if line.strip()]
    states = load_prompt_embeds(text, args.pretrained, cache=args.out,
                                subfolder=args.subfolder)
    print(f'{text!r}: embedding {tuple(states.shape)} saved to {args.out}')


if __name__ == '__main__':
    main()
