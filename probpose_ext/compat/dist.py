"""CPU-only distributed training through MMEngine's runner.

Problem (ENVIRONMENT.md problem 4), with mmengine 0.10.7 on a machine
without CUDA: MMPose's default runtime asks for the ``nccl`` backend
("Found no NVIDIA driver"); ``mmengine.dist.utils._init_dist_pytorch`` always
calls ``torch.cuda.set_device``; the runner wraps the model with
``device_ids=[LOCAL_RANK]``, which DistributedDataParallel rejects for a CPU
module; and the process group is never destroyed, so rank 1 aborts at exit.

Workaround, only when CUDA is unavailable: initialise with ``gloo`` and skip
``set_device``; drop ``device_ids``/``output_device`` when the wrapped module
lives on the CPU; synchronise and destroy the process group at exit. With it
``python -m torch.distributed.run --nproc_per_node=2 tools/train.py CFG
--launcher pytorch`` works on CPU.
"""
import atexit
import functools

import torch

from ._shim import Shim

_originals = {}


def needed() -> bool:
    """torch.distributed is usable but CUDA is not."""
    return torch.distributed.is_available() and not torch.cuda.is_available()


def _destroy_process_group() -> None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def _make_init_dist_pytorch(original):

    @functools.wraps(original)
    def _init_dist_pytorch(backend='gloo', init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend in (None, 'nccl'):
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)
        atexit.register(_destroy_process_group)

    return _init_dist_pytorch


def _make_ddp_init(original):

    @functools.wraps(original)
    def __init__(self, module, *args, **kwargs):
        if kwargs.get('device_ids') is not None:
            devices = {p.device.type for p in module.parameters()}
            if devices <= {'cpu'}:
                kwargs['device_ids'] = None
                kwargs['output_device'] = None
        return original(self, module, *args, **kwargs)

    return __init__


def _install() -> None:
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    _originals['init'] = dist_utils._init_dist_pytorch
    _originals['ddp'] = MMDistributedDataParallel.__init__
    dist_utils._init_dist_pytorch = _make_init_dist_pytorch(
        _originals['init'])
    MMDistributedDataParallel.__init__ = _make_ddp_init(_originals['ddp'])


def _uninstall() -> None:
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    dist_utils._init_dist_pytorch = _originals.pop('init')
    MMDistributedDataParallel.__init__ = _originals.pop('ddp')


_SHIM = Shim(needed, _install, _uninstall)
apply, remove, is_applied = _SHIM.apply, _SHIM.remove, _SHIM.is_applied
