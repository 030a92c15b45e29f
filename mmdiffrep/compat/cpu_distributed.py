"""Distributed training on CPU-only machines (torchrun + gloo).

mmengine 0.10.x's pytorch/slurm/mpi launchers call ``torch.cuda.set_device`` unconditionally
and the Runner wraps the model in DDP with ``device_ids=[local_rank]``; both fail without
CUDA. Without CUDA the launchers skip ``set_device`` and DDP gets ``device_ids=None``; on GPU
machines nothing changes. Guard: mmengine <= 0.10.7 (the versions with the defect).
"""
import mmengine
import torch
from mmengine.utils import digit_version


def needed(mmengine_version: str = mmengine.__version__) -> bool:
    return digit_version(mmengine_version) <= digit_version('0.10.7')


def _skip_cuda_set_device(init_fn):

    def wrapper(*args, **kwargs):
        if torch.cuda.is_available():
            return init_fn(*args, **kwargs)
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda device: None
        try:
            return init_fn(*args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    wrapper._mmdiffrep_fixed = True
    return wrapper


def _cpu_ddp_init(init):

    def __init__(self, module, *args, **kwargs):
        on_cpu = all(not p.is_cuda for p in module.parameters())
        if on_cpu and not torch.cuda.is_available():
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        init(self, module, *args, **kwargs)

    __init__._mmdiffrep_fixed = True
    return __init__


def apply() -> None:
    if not needed():
        return
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    for name in ('_init_dist_pytorch', '_init_dist_mpi', '_init_dist_slurm'):
        fn = getattr(dist_utils, name, None)
        if fn is not None and not hasattr(fn, '_mmdiffrep_fixed'):
            setattr(dist_utils, name, _skip_cuda_set_device(fn))
    if not hasattr(MMDistributedDataParallel.__init__, '_mmdiffrep_fixed'):
        MMDistributedDataParallel.__init__ = _cpu_ddp_init(MMDistributedDataParallel.__init__)
