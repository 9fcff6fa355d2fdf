"""Workarounds for the pinned third-party stack, one module per problem.

Each module exposes ``needed() -> bool`` (does this environment have the
problem?) and ``apply() -> bool`` (install the workaround if needed; return
whether it is active). ``apply`` is idempotent and a no-op where the problem
does not exist. The modules, with the upstream problem each one answers:

* :mod:`.mmcv_ext`: mmcv-lite has no compiled ``mmcv._ext`` but
  ``mmpose.models`` imports ``mmcv.ops`` (through its EDPose head).
* :mod:`.checkpoint`: torch >= 2.6 defaults ``torch.load`` to
  ``weights_only=True`` and mmengine 0.10.7 does not pass it
  (open-mmlab/mmengine PR #1670, unreleased); adds a deliberate trust model.
* :mod:`.dist`: CPU-only ``torch.distributed`` training through MMEngine's
  runner (NCCL backend, ``torch.cuda.set_device`` and ``device_ids`` are
  hard-wired in mmengine 0.10.7).
* :mod:`.visualizer`: numpy >= 1.25 deprecates (2.4 forbids) ``int()`` of a
  1-element array, used by mmpose 1.3's OpenCV visualiser.
* :mod:`.mmpretrain_multimodal`: mmpretrain 1.2.0 imports its multimodal
  models for any transformers >= 4.28, and they fail to import with
  transformers releases that moved the names they use (5.x), taking
  ``mmpretrain.models`` (``VisionTransformer``) down with them.
* :mod:`.inferencer_zoo`: MMEngine's inferencers look model names up only in
  the scope package's own model index; the zoo's names are added.

Not applied on import (opt-in, for tests and benchmarks only):

* :mod:`.exococotools`: the authors' ``exococotools`` 1.0.0 imports its
  extension under its pre-rename name ``ExCocotools``.
* :mod:`.mmaction`: the ``mmaction2`` 1.2.0 wheel lacks a package that
  ``mmaction.models`` imports (open-mmlab/mmaction2#2714); importing the
  module registers placeholders and imports ``mmaction.models``.
* :mod:`.mmdeploy`: MMDeploy 1.3.1's rewriters look their caller up with
  ``inspect.stack()``, which makes its export through torch's dynamo
  exporter take minutes (open-mmlab/mmdeploy PR #1483's
  ``get_frame_func``); importing the module swaps in a ``sys._getframe``
  lookup (and imports ``probpose_ext`` first, for ``mmcv._ext``).
"""
from typing import Dict

from . import (checkpoint, dist, inferencer_zoo, mmcv_ext,
               mmpretrain_multimodal, visualizer)

#: Shims in the order they are applied (mmcv_ext first: it must be in place
#: before anything imports ``mmpose.models``).
SHIMS = {
    'mmcv_ext': mmcv_ext,
    'checkpoint': checkpoint,
    'dist': dist,
    'visualizer': visualizer,
    'mmpretrain_multimodal': mmpretrain_multimodal,
    'inferencer_zoo': inferencer_zoo,
}


def apply_all() -> Dict[str, bool]:
    """Apply every shim that the environment needs.

    Returns:
        dict: shim name -> whether it is active.
    """
    return {name: module.apply() for name, module in SHIMS.items()}


def status() -> Dict[str, bool]:
    """Which shims are active, without applying anything."""
    return {name: module.is_applied() for name, module in SHIMS.items()}


__all__ = ['SHIMS', 'apply_all', 'status']
