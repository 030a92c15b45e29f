"""Export the student of a RepFusion checkpoint as a plain backbone checkpoint.

    python tools/model_converters/repfusion_to_backbone.py work_dirs/repfusion/iter_600.pth \
        checkpoints/student.pth

The output holds ``state_dict`` (the student's weights, no prefix: load it with
``init_cfg=dict(type='Pretrained', checkpoint='checkpoints/student.pth')`` in any toolbox) and
``meta.repfusion``: the student config, teacher, timestep sampler, distillation pairs and the
iteration it was taken at. A one-stage checkpoint (``architecture=``) exports its backbone.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401  (checkpoint allow-list for torch.load)

PREFIXES = ('student.', 'architecture.backbone.')


def extract(checkpoint: dict):
    """(student state dict, prefix it had) of a RepFusion training checkpoint."""
    state = checkpoint.get('state_dict', checkpoint)
    for prefix in PREFIXES:
        student = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if student:
            return student, prefix
    raise ValueError('no student weights in this checkpoint: expected keys starting with '
                     f'{" or ".join(PREFIXES)} (is it a RepFusion checkpoint?)')


def describe(checkpoint: dict) -> dict:
    """What the student was distilled from, read from the config saved in the checkpoint."""
    meta = checkpoint.get('meta', {})
    info = dict(iter=meta.get('iter'), epoch=meta.get('epoch'))
    if meta.get('cfg'):
        from mmengine.config import Config
        model = Config.fromstring(meta['cfg'], '.py').model
        part = model.get('student') or model.get('architecture', {}).get('backbone')
        info.update(
            student=part, teacher=model.get('teacher'),
            timestep_sampler=model.get('timestep_sampler'),
            teacher_input=model.get('teacher_input', 'clean'),
            distill_pairs=model.get('distill_pairs'))
    # plain JSON types: the file then loads with torch.load(weights_only=True)
    return json.loads(json.dumps(info, default=str))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a RepFusion training checkpoint')
    parser.add_argument('out', help='output .pth')
    args = parser.parse_args(argv)
    checkpoint = torch.load(args.checkpoint, map_location='cpu')
    student, prefix = extract(checkpoint)
    meta = dict(repfusion=dict(describe(checkpoint), source=osp.abspath(args.checkpoint),
                               prefix=prefix))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(dict(state_dict=student, meta=meta), args.out)
    n = sum(v.numel() for v in student.values())
    print(f'{len(student)} tensors ({n / 1e6:.2f}M values) under {prefix!r} -> {args.out}')


if __name__ == '__main__':
    main()
