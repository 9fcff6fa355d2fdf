"""Skeleton action recognition data in MMAction2's pickle layout."""
import copy
import pickle
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path
from mmpose.registry import DATASETS

from ..utils.validation import strict_kwargs

__all__ = ['SkeletonActionDataset', 'load_skeleton_annotations']

_REQUIRED = ('frame_dir', 'label', 'keypoint')


def _check_annotation(ann: Dict, index: int) -> None:
    missing = [k for k in _REQUIRED if k not in ann]
    if missing:
        raise KeyError(f'annotation {index} lacks {missing}; MMAction2 '
                       f"skeleton annotations need {list(_REQUIRED)}")
    kpt = np.asarray(ann['keypoint'])
    if kpt.ndim != 4 or kpt.shape[-1] not in (2, 3):
        raise ValueError(f"annotation {ann['frame_dir']!r}: keypoint must "
                         f'have shape (M, T, V, C) with C in (2, 3), got '
                         f'{kpt.shape}')
    score = ann.get('keypoint_score')
    if score is not None and np.shape(score) != kpt.shape[:3]:
        raise ValueError(f"annotation {ann['frame_dir']!r}: keypoint_score "
                         f'must have shape {kpt.shape[:3]}, got '
                         f'{np.shape(score)}')


def load_skeleton_annotations(ann_file: str,
                              split: Optional[str] = None
                              ) -> Dict[str, object]:
    """Read an MMAction2 skeleton pickle.

    The file holds ``{'split': {name: [frame_dir, ...]}, 'annotations':
    [dict(frame_dir, label, total_frames, img_shape, keypoint (M, T, V, C),
    keypoint_score (M, T, V) for 2D, ...)]}`` (MMAction2 1.x; NTU-60/120,
    Kinetics and SynthActions) or, in the older layout, the annotation list
    alone. SynthActions adds ``meta`` (classes, layout).

    Args:
        ann_file (str): The pickle (local path or any MMEngine backend).
        split (str, optional): Keep the annotations of this split only.

    Returns:
        dict: ``annotations`` (list of dicts in file order), ``splits``
        (the names available) and ``meta`` (dict, empty when absent).
    """
    with get_local_path(ann_file) as path, open(path, 'rb') as f:
        data = pickle.load(f)
    if isinstance(data, list):
        anns, splits, meta = data, {}, {}
    elif isinstance(data, dict) and 'annotations' in data:
        anns, splits = data['annotations'], data.get('split') or {}
        meta = data.get('meta') or {}
    else:
        raise ValueError(f'{ann_file}: not an MMAction2 skeleton pickle (a '
                         "dict with 'annotations' and 'split', or a list of "
                         'annotations)')
    if split is not None:
        if split not in splits:
            raise KeyError(f'{ann_file} has no split {split!r}; it has '
                           f'{sorted(splits)}')
        keep = set(splits[split])
        key = 'frame_dir'
        anns = [a for a in anns if a.get(key, a.get('filename')) in keep]
    for i, ann in enumerate(anns):
        _check_annotation(ann, i)
    return dict(annotations=anns, splits=sorted(splits), meta=meta)


@DATASETS.register_module()
@strict_kwargs
class SkeletonActionDataset(BaseDataset):
    """Skeleton sequences with action labels, read from a pickle in
    MMAction2's layout (:func:`load_skeleton_annotations`): MMAction2's
    ``PoseDataset`` on MMPose's and MMEngine's registries, so the same file
    (NTU-60 ``ntu60_3d.pkl``, ``ntu60_2d.pkl``, SynthActions) trains with
    this project's tools.

    Each sample is the annotation dict (``keypoint`` (M, T, V, C),
    ``keypoint_score`` (M, T, V) when present, ``label``, ``total_frames``,
    ``img_shape``, ``frame_dir``); missing ``total_frames`` is taken from
    ``keypoint``. The metainfo holds ``classes`` (from ``metainfo`` or the
    file's ``meta``, else ``'0'``, ``'1'``, ...), ``num_classes`` and the
    skeleton ``layout`` when the file names one.

    Args:
        ann_file (str): The pickle, relative to ``data_root``.
        split (str, optional): Split name, e.g. ``'xsub_train'``.
        num_classes (int, optional): Classes K; defaults to the number of
            classes in the metainfo or ``1 + max(label)``.
        **kwargs: :class:`mmengine.dataset.BaseDataset`'s arguments
            (``data_root``, ``pipeline``, ``test_mode``, ``metainfo``,
            ``indices``, ...).
    """

    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str,
                 split: Optional[str] = None,
                 num_classes: Optional[int] = None,
                 **kwargs) -> None:
        self.split = split
        self._num_classes = num_classes
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        loaded = load_skeleton_annotations(self.ann_file, self.split)
        anns: Sequence[Dict] = loaded['annotations']
        labels = [int(a['label']) for a in anns]
        meta = loaded['meta']
        classes = self._metainfo.get('classes') or meta.get('classes')
        num_classes = self._num_classes or (len(classes) if classes else
                                            1 + max(labels, default=-1))
        if labels and (min(labels) < 0 or max(labels) >= num_classes):
            raise ValueError(f'{self.ann_file}: labels must be in [0, '
                             f'{num_classes}), got {min(labels)}..'
                             f'{max(labels)}')
        if classes is None:
            classes = [str(i) for i in range(num_classes)]
        self._metainfo.update(
            classes=tuple(classes), num_classes=num_classes)
        if 'layout' in meta and 'layout' not in self._metainfo:
            self._metainfo['layout'] = meta['layout']
        data_list = []
        for ann in anns:
            item = copy.copy(ann)
            item['label'] = int(item['label'])
            item.setdefault('total_frames',
                            int(np.shape(item['keypoint'])[1]))
            data_list.append(item)
        return data_list
