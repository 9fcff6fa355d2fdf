"""Make checkpoints loadable with ``torch.load(weights_only=True)``.

MMEngine's runner saves numpy arrays (``meta['dataset_meta']``: sigmas,
colours) and :class:`mmengine.logging.HistoryBuffer` objects
(``message_hub['log_scalars']``), which torch's weights-only unpickler
refuses. :class:`PlainCheckpointHook` converts them to plain Python types
before saving and restores the history buffers after loading, so a
checkpoint never needs full unpickling (see
:mod:`probpose_ext.compat.checkpoint` for the trust model).
"""
import copy
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmpose.registry import HOOKS

from ...utils.validation import strict_kwargs
from ._runner import resumes

#: Marker of a serialised HistoryBuffer.
HISTORY_BUFFER_TAG = '__probpose_history_buffer__'

#: Checkpoint entries that hold only tensors and plain types already.
_TENSOR_ENTRIES = ('state_dict', 'ema_state_dict', 'optimizer')


def to_plain(obj: Any) -> Any:
    """Recursively replace numpy values and HistoryBuffers by plain types.

    numpy arrays become (nested) lists, numpy scalars Python scalars, and a
    HistoryBuffer a tagged dict that :func:`from_plain` turns back into one.
    Tensors, containers and plain values are kept.
    """
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {
            HISTORY_BUFFER_TAG: True,
            'log_history': logs.tolist(),
            'count_history': counts.tolist(),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, dict):
        converted = {key: to_plain(value) for key, value in obj.items()}
        if type(obj) is dict:
            return converted
        try:
            return type(obj)(converted)
        except TypeError:
            return converted
    if isinstance(obj, list):
        return [to_plain(value) for value in obj]
    if isinstance(obj, tuple) and not hasattr(obj, '_fields'):
        return tuple(to_plain(value) for value in obj)
    return obj


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain` for HistoryBuffers (lists stay lists)."""
    if isinstance(obj, dict):
        if obj.get(HISTORY_BUFFER_TAG) is True:
            return HistoryBuffer(obj['log_history'], obj['count_history'],
                                 obj['max_length'])
        for key, value in obj.items():
            obj[key] = from_plain(value)
        return obj
    if isinstance(obj, list):
        return [from_plain(value) for value in obj]
    return obj


@HOOKS.register_module()
@strict_kwargs
class PlainCheckpointHook(Hook):
    """Save checkpoints with plain Python types only.

    Add it to ``custom_hooks`` (this project's configs do; ``tools/train.py``
    warns when a config does not), and every checkpoint the runner writes
    loads with ``weights_only=True``.

    Example:
        >>> custom_hooks = [dict(type='PlainCheckpointHook')]
    """

    # Run after other hooks have added their entries to the checkpoint.
    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key not in _TENSOR_ENTRIES:
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])
        # When resuming, give back the dataset meta its original types if it
        # is the current training set's, so mmengine does not warn that they
        # differ (it compares pickled bytes). A resuming runner has built its
        # train loop (Runner.train builds it first; Runner.resume uses it
        # right after this hook), so reading it builds nothing more.
        meta = checkpoint.get('meta', {})
        if 'dataset_meta' not in meta or not resumes(runner):
            return
        loader = getattr(runner.train_loop, 'dataloader', None)
        current = getattr(getattr(loader, 'dataset', None), 'metainfo', None)
        if current is not None and to_plain(current) == meta['dataset_meta']:
            meta['dataset_meta'] = copy.deepcopy(current)
