"""Convert a DDPM training checkpoint to a diffusers folder (EMA weights by default), and back.

    python tools/model_converters/ddpm_to_diffusers.py CONFIG CKPT OUT_DIR [--no-ema]
    python tools/model_converters/ddpm_to_diffusers.py CONFIG OUT_DIR/unet NEW.pth --reverse

Forward: OUT_DIR/unet (UNet2DModel, safetensors) and OUT_DIR/scheduler (DDPMScheduler) —
the layout of a diffusers pipeline; use it as
``DiffusionUNet(pretrained=OUT_DIR, subfolder='unet')`` or ``UNet2DModel.from_pretrained``.
Reverse: a checkpoint whose ``state_dict`` loads into ``mmdiffrep.DDPM`` (``load_from=``).
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmengine.config import Config  # noqa: E402

from mmdiffrep.diffusion import build_unet  # noqa: E402
from mmdiffrep.diffusion.noise_processes import ddpm_scheduler  # noqa: E402
from mmdiffrep.utils.checkpoints import ema_weights  # noqa: E402
from mmdiffrep.utils.config import refuse_overwrite  # noqa: E402


def unet_state(ckpt: dict, use_ema: bool) -> dict:
    if use_ema:
        state = ema_weights(ckpt, 'pass --no-ema to export the raw weights')
    else:
        state = ckpt['state_dict']
    prefix = 'unet.'
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        raise KeyError(f'no U-Net weights under {prefix!r} in the checkpoint')
    return out


def to_diffusers(cfg: Config, ckpt_path: str, out_dir: str, use_ema: bool = True,
                 probe_cell=None) -> None:
    ckpt = torch.load(ckpt_path, map_location='cpu')
    unet = build_unet(cfg.model.unet_cfg.to_dict())
    unet.load_state_dict(unet_state(ckpt, use_ema), strict=True)
    unet.save_pretrained(osp.join(out_dir, 'unet'), safe_serialization=True)
    m = cfg.model
    ddpm_scheduler(m.get('num_train_timesteps', 1000), m.get('beta_schedule', 'linear'),
                   m.get('prediction_type', 'epsilon')).save_pretrained(
                       osp.join(out_dir, 'scheduler'))
    meta = dict(config=osp.relpath(cfg.filename) if cfg.filename else None,
                source=osp.relpath(ckpt_path), weights='ema' if use_ema else 'raw',
                iter=ckpt.get('meta', {}).get('iter'))
    if probe_cell:  # the (block, timestep) a probe sweep on the val split selected
        meta.update(probe_block=probe_cell[0], probe_timestep=int(probe_cell[1]))
    with open(osp.join(out_dir, 'mmdiffrep_meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)


def to_mmdiffrep(unet_dir: str, out_file: str) -> None:
    from diffusers import UNet2DModel
    unet = UNet2DModel.from_pretrained(unet_dir)
    state = {f'unet.{k}': v for k, v in unet.state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(source=osp.abspath(unet_dir))), out_file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the DDPM training config')
    parser.add_argument('src', help='checkpoint (forward) or diffusers unet folder (reverse)')
    parser.add_argument('dst', help='output folder (forward) or .pth file (reverse)')
    parser.add_argument('--no-ema', action='store_true', help='export the raw weights')
    parser.add_argument('--reverse', action='store_true', help='diffusers -> mmdiffrep')
    parser.add_argument('--probe-cell', nargs=2, metavar=('BLOCK', 'T'),
                        help='record the val-selected probe block and timestep in the metadata')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    args = parser.parse_args(argv)
    refuse_overwrite(args.dst, args.overwrite, 'the converted model')
    if args.reverse:
        to_mmdiffrep(args.src, args.dst)
    else:
        to_diffusers(Config.fromfile(args.config), args.src, args.dst, not args.no_ema,
                     args.probe_cell)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
