"""Read, select and write annotation files in MMPose's Human3.6M layout.

MMPose's ``Human36mDataset`` reads one npz per split with, per frame,
``imgname`` (``S1/S1_Walk_1.54138969/S1_Walk_1.54138969_000001.jpg``),
``center`` (2, ), ``scale`` (), ``part`` (K, 3): 2D pixels and
visibility, and ``S`` (K, 4): camera-frame 3D metres and visibility. The
SynthMotion generator writes these files and the teacher pseudo-label tool
(:mod:`probpose_ext.analysis.pseudo_labels`) splits them by subject and
writes pseudo-labelled copies; the fourth column of ``S`` may then carry a
continuous label weight (see
:class:`~probpose_ext.datasets.transforms.SoftLiftingTargetWeight`).

Note:
    - N: number of frames
    - K: number of keypoints
"""
import os
import os.path as osp
from typing import Dict, Iterable, Union

import numpy as np

from ..utils.atomic import atomic_write

__all__ = [
    'H36M_NPZ_KEYS', 'parse_imgname', 'subjects_of', 'load_h36m_npz',
    'select_subjects', 'save_h36m_npz'
]

#: The per-frame arrays of an annotation file.
H36M_NPZ_KEYS = ('imgname', 'center', 'scale', 'part', 'S')

Annotations = Dict[str, np.ndarray]


def parse_imgname(imgname: str) -> Dict[str, str]:
    """Subject, action, camera and frame of an image name (the rule of
    MMPose's ``Human36mDataset._parse_h36m_imgname``).

    Args:
        imgname (str): e.g. ``'S1/S1_Walk_1.54138969/S1_Walk_1.54138969_
            000001.jpg'`` (the folder part is optional).

    Returns:
        dict: ``subject``, ``action``, ``camera``, ``frame`` (str).
    """
    base = osp.basename(str(imgname))
    try:
        subject, rest = base.split('_', 1)
        action, rest = rest.split('.', 1)
        camera, rest = rest.split('_', 1)
    except ValueError:
        raise ValueError(f'not a Human3.6M image name: {imgname!r} (expected '
                         'S<subject>_<action>.<camera>_<frame>.jpg)') from None
    return dict(
        subject=subject, action=action, camera=camera,
        frame=osp.splitext(rest)[0])


def subjects_of(imgnames: Iterable[str]) -> np.ndarray:
    """Subject of each image name.

    Args:
        imgnames (Iterable[str]): Image names, shape (N, ).

    Returns:
        np.ndarray: Subject names, shape (N, ).
    """
    return np.array([parse_imgname(n)['subject'] for n in imgnames])


def load_h36m_npz(path: Union[str, os.PathLike]) -> Annotations:
    """Load an annotation file and check its keys and lengths.

    Args:
        path (str | PathLike): The npz file.

    Returns:
        dict[str, np.ndarray]: The arrays of :data:`H36M_NPZ_KEYS`, each
        with N rows.
    """
    with np.load(path) as data:
        missing = [k for k in H36M_NPZ_KEYS if k not in data.files]
        if missing:
            raise KeyError(f'{path}: missing {missing} (an MMPose Human3.6M '
                           f'annotation file has {list(H36M_NPZ_KEYS)})')
        ann = {k: data[k] for k in data.files}
    lengths = {k: len(ann[k]) for k in H36M_NPZ_KEYS}
    if len(set(lengths.values())) != 1:
        raise ValueError(f'{path}: arrays of different lengths {lengths}')
    return ann


def select_subjects(ann: Annotations, subjects: Iterable[str]) -> Annotations:
    """The frames of some subjects, in file order.

    Args:
        ann (dict[str, np.ndarray]): Annotations with N rows.
        subjects (Iterable[str]): Subject names, e.g. ``['S1', 'S5']``.

    Returns:
        dict[str, np.ndarray]: The selected rows of every per-frame array.
    """
    subjects = list(subjects)
    present = subjects_of(ann['imgname'])
    unknown = sorted(set(subjects) - set(present.tolist()))
    if unknown:
        raise ValueError(f'subjects {unknown} are not in the annotations '
                         f'(it has {sorted(set(present.tolist()))})')
    keep = np.isin(present, subjects)
    n = len(ann['imgname'])
    return {
        k: (v[keep] if np.ndim(v) and len(v) == n else v)
        for k, v in ann.items()
    }


def save_h36m_npz(path: Union[str, os.PathLike], ann: Annotations) -> None:
    """Write an annotation file atomically (a temporary file renamed into
    place), creating its folder.

    Args:
        path (str | PathLike): The npz file to write.
        ann (dict[str, np.ndarray]): The arrays of :data:`H36M_NPZ_KEYS`.
    """
    missing = [k for k in H36M_NPZ_KEYS if k not in ann]
    if missing:
        raise KeyError(f'missing {missing}')
    atomic_write(path, lambda f: np.savez(f, **ann))
