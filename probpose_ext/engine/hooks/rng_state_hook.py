"""Save the random number generators in checkpoints and restore them on
resume, so an interrupted and resumed run draws the same random numbers
(data order, augmentations) as an uninterrupted one.

MMEngine reseeds every generator from ``randomness.seed`` when a run starts,
also when it resumes: a run resumed after epoch ``e`` then draws the
augmentations of epoch 1 again, not those of epoch ``e + 1``, and ends with
different weights than the uninterrupted run. With this hook it ends with
the same weights (tested bit for bit on CPU in
``tests/reliability/test_resume.py``).
"""
import random
import warnings
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.validation import strict_kwargs
from ._runner import resumes

#: Checkpoint entry written by :class:`RngStateHook`.
RNG_STATE_KEY = 'rng_state'


def get_rng_state() -> Dict[str, Any]:
    """The global generators' states, in plain types and tensors (loadable
    with ``torch.load(weights_only=True)``).

    Returns:
        dict: ``python`` (``random.getstate()``), ``numpy`` (the legacy
        global ``np.random`` state, its key as a list), ``torch`` (CPU
        generator, uint8 tensor) and ``cuda`` (one tensor per device; empty
        without CUDA).
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        python=random.getstate(),
        numpy=[name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        torch=torch.get_rng_state(),
        cuda=(torch.cuda.get_rng_state_all()
              if torch.cuda.is_available() else []))


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore the states saved by :func:`get_rng_state`.

    Args:
        state (dict): As returned by :func:`get_rng_state` (after a round
            trip through a checkpoint). CUDA states are restored when the
            number of devices matches, otherwise left as seeded.
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.as_tensor(state['torch'], dtype=torch.uint8))
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available() and len(cuda) == \
            torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
@strict_kwargs
class RngStateHook(Hook):
    """Keep the random number generators' states across ``--resume``.

    Saves :func:`get_rng_state` as ``checkpoint['rng_state']`` with every
    checkpoint and, when the runner *resumes* from one (``runner.cfg.resume``,
    not for ``load_from`` alone), restores it when training starts, after
    MMEngine has reseeded the generators. This project's configs name it in
    ``custom_hooks``; ``tools/train.py`` warns when a config does not.

    What it makes exact: everything drawn in the training process (the
    sampler's order is already a function of seed and epoch; augmentations
    with ``num_workers=0``) and in dataloader workers that are re-created
    every epoch (``persistent_workers=False``: MMEngine reseeds them from
    the seed, and torch draws their base seed from the restored torch
    generator). Persistent workers keep their own generators, which no
    checkpoint can hold: their augmentations after a resume differ from
    the uninterrupted run's (the hook warns). In distributed training the
    checkpoint (written by rank 0) holds rank 0's states, which every rank
    restores: exact for rank 0, not for ranks whose augmentations drew a
    different amount of random numbers.

    Example:
        >>> custom_hooks = [dict(type='RngStateHook')]
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[RNG_STATE_KEY] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if resumes(runner):
            self._pending = checkpoint.get(RNG_STATE_KEY)

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        set_rng_state(self._pending)
        self._pending = None
        loader = getattr(runner.train_loop, 'dataloader', None)
        if getattr(loader, 'num_workers', 0) > 0 and getattr(
                loader, 'persistent_workers', False):
            warnings.warn(
                'RngStateHook: the train dataloader has persistent workers, '
                'whose random generators are not in the checkpoint: the '
                'resumed run draws different augmentations than an '
                'uninterrupted one would (persistent_workers=False makes '
                'the resume exact)')
