"""Config helpers shared by the tools: work dirs, a data pre-flight check, and reading a stored
config without executing it."""
import os.path as osp
import re
from typing import Iterator, Optional, Tuple

from mmengine.config import Config


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/{config name}``, the OpenMMLab default."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str) -> str:
    """``cfg.work_dir``: ``--work-dir`` if given, else the config's own, else
    :func:`default_work_dir` (the rule of ``tools/train.py`` and ``tools/test.py``)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(config_path)
    return cfg.work_dir


def _datasets(dataset_cfg) -> Iterator[dict]:
    """The leaf dataset configs of a (possibly wrapped or concatenated) dataset config."""
    if dataset_cfg is None:
        return
    if isinstance(dataset_cfg, (list, tuple)):
        for d in dataset_cfg:
            yield from _datasets(d)
        return
    if 'dataset' in dataset_cfg:
        yield from _datasets(dataset_cfg['dataset'])
    elif 'datasets' in dataset_cfg:
        yield from _datasets(dataset_cfg['datasets'])
    else:
        yield dataset_cfg


def _shapes_hint(root: str) -> str:
    match = re.search(r'shapes(\d+)', osp.basename(osp.normpath(root)))
    if match is None:
        return ''
    return (f' Generate it with: python tools/dataset_converters/shapes.py {root} '
            f'--size {match.group(1)}')


def _paths(cfg: Config) -> Iterator[Tuple[str, str, str]]:
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for ds in _datasets(loader_cfg.get('dataset')):
            root = ds.get('data_root', '') or ''
            if root:
                yield loader, 'data_root', root
            ann = ds.get('ann_file', '') or ''
            if ann and not ann.startswith(('http://', 'https://', 's3://')):
                yield loader, 'ann_file', ann if osp.isabs(ann) else osp.join(root, ann)


def _evaluator_files(cfg: Config) -> Iterator[Tuple[str, str]]:
    """Annotation files that metrics read themselves (e.g. mmpose's CocoMetric)."""
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        for metric in metrics:
            ann = metric.get('ann_file') if isinstance(metric, dict) else None
            if ann and not ann.startswith(('http://', 'https://', 's3://')):
                yield key, ann


def check_data_roots(cfg: Config) -> None:
    """Raise ``FileNotFoundError`` naming the loader / evaluator, the key and the missing path
    when a config points at data that is not there (instead of a deep traceback later)."""
    for loader, key, path in _paths(cfg):
        if not osp.exists(path):
            root = path if key == 'data_root' else osp.dirname(osp.dirname(path))
            raise FileNotFoundError(
                f'{loader}.dataset.{key}: {path!r} does not exist.{_shapes_hint(root)}')
    for evaluator, path in _evaluator_files(cfg):
        if not osp.exists(path):
            raise FileNotFoundError(
                f'{evaluator}.ann_file: {path!r} does not exist (metrics such as CocoMetric read '
                'it directly: update it together with data_root).'
                f'{_shapes_hint(osp.dirname(osp.dirname(path)))}')


def cpu_friendly_dist_backend(cfg: Config) -> None:
    """OpenMMLab runtimes default to ``nccl``, which needs GPUs; on a machine without CUDA a
    distributed launch falls back to ``gloo`` so ``torchrun`` works on the CPU too."""
    import torch
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print('No CUDA device: using the gloo backend for distributed training.')
        dist_cfg['backend'] = 'gloo'


def shutdown_distributed() -> None:
    """Destroy the default process group after a successful run.

    Without it, gloo's worker threads can outlive the interpreter's teardown and abort the
    process at exit ("terminate called without an active exception", SIGABRT) although the
    job itself finished. Only called on success: destroying a group while other ranks are
    still in a collective would hang instead of failing.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _literal(node):
    """The value of a config expression made of literals, lists, tuples, dicts and ``dict(...)``
    calls only; anything else (a name, an attribute, another call) raises ValueError."""
    import ast
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_literal(e) for e in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg is not None}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f'not a plain config value: {ast.dump(node)[:80]}')


def read_config_text(text: str) -> dict:
    """The top-level assignments of a dumped mmengine config (e.g. ``checkpoint['meta']['cfg']``)
    WITHOUT executing it: only plain values (literals, lists, dicts, ``dict(...)``) are read;
    an assignment with any other expression is skipped. Safe for untrusted checkpoints."""
    import ast
    out = {}
    for stmt in ast.parse(text).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name):
            try:
                out[stmt.targets[0].id] = _literal(stmt.value)
            except ValueError:
                continue
    return out


def resumable_checkpoint(work_dir: str, log=print) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: the one ``last_checkpoint`` names if it
    loads, else the newest ``*.pth`` in ``work_dir`` that loads (with a log line saying so);
    None when there is none."""
    import glob

    import torch

    def loads(path: str) -> bool:
        try:
            torch.load(path, map_location='cpu', weights_only=True)
            return True
        except Exception as e:  # truncated, corrupt or not a checkpoint
            log(f'--resume: {path} cannot be loaded ({type(e).__name__}: {str(e)[:120]})')
            return False

    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named) and loads(named):
            return named
    for path in sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime,
                       reverse=True):
        if path != named and loads(path):
            log(f'--resume: falling back to the newest loadable checkpoint {path}'
                + (f' (last_checkpoint names {named})' if named else ''))
            return path
    return None


def refuse_overwrite(path: str, overwrite: bool, what: str) -> None:
    """A tool's output must not silently replace an existing file or non-empty folder (e.g. a
    re-export over the shipped teacher would change what every checkpoint built on it means)."""
    import os
    exists = osp.isfile(path) or (osp.isdir(path) and bool(os.listdir(path)))
    if exists and not overwrite:
        raise FileExistsError(f'{path} exists ({what}); pass --overwrite to replace it')
