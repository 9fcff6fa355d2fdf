"""Skeletal-temporal partitions for partition attention (in the spirit of
SkateFormer, Do and Kim 2024): tokens are (frame, joint) pairs, and each
of four partition types lets a token attend only to the tokens of its own
partition:

* ``near-local``: joints of the same body part, frames of the same window;
* ``far-local``: joints at the same place in different body parts (one
  joint per part, e.g. both wrists and both ankles), same window;
* ``near-global``: same body part, frames at the same place in every
  window (a stride of ``window`` frames through the whole clip);
* ``far-global``: the far joints at the strided frames.

Body parts (:data:`BODY_PARTS`): the head and torso, the two arms and the
two legs of each layout; a joint's place in its part is its index in the
part's list. Frame windows are ``window`` consecutive frames (the last
window may be shorter); a frame's place is its index in its window.

Note:
    - T: number of frames, V: number of joints, N = T * V tokens
      (frame-major: token ``t * V + v``)
"""
from typing import Dict, Sequence, Tuple

import numpy as np

__all__ = ['BODY_PARTS', 'PARTITION_TYPES', 'joint_parts',
           'partition_masks']

#: Body parts of each skeleton layout (joint indices of
#: :mod:`~probpose_ext.ops.skeleton_graph`'s layouts): head/torso, left
#: arm, right arm, left leg, right leg.
BODY_PARTS: Dict[str, Tuple[Tuple[int, ...], ...]] = {
    'coco': ((0, 1, 2, 3, 4), (5, 7, 9), (6, 8, 10), (11, 13, 15),
             (12, 14, 16)),
    'h36m': ((0, 7, 8, 9, 10), (11, 12, 13), (14, 15, 16), (4, 5, 6),
             (1, 2, 3)),
    'nturgb+d': ((0, 1, 2, 3, 20), (4, 5, 6, 7, 21, 22), (8, 9, 10, 11, 23,
                                                          24),
                 (12, 13, 14, 15), (16, 17, 18, 19)),
}
#: The partition types, in the order of :func:`partition_masks`.
PARTITION_TYPES: Tuple[str, ...] = ('near-local', 'far-local',
                                    'near-global', 'far-global')


def joint_parts(layout: str) -> Tuple[np.ndarray, np.ndarray]:
    """Each joint's body part and place in it.

    Args:
        layout (str): A key of :data:`BODY_PARTS`.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``part`` and ``place``, shape (V, ),
        int64.
    """
    if layout not in BODY_PARTS:
        raise ValueError(f'unknown layout {layout!r}; choose one of '
                         f'{sorted(BODY_PARTS)}')
    parts = BODY_PARTS[layout]
    num = sum(len(p) for p in parts)
    part = np.full(num, -1, np.int64)
    place = np.full(num, -1, np.int64)
    for i, joints in enumerate(parts):
        for j, v in enumerate(joints):
            part[v], place[v] = i, j
    if (part < 0).any():
        raise ValueError(f'{layout}: joints {np.flatnonzero(part < 0)} are '
                         'in no body part')
    return part, place


def partition_masks(layout: str, num_frames: int, window: int,
                    types: Sequence[str] = PARTITION_TYPES) -> np.ndarray:
    """Which token may attend to which, per partition type.

    Args:
        layout (str): Skeleton layout (:data:`BODY_PARTS`).
        num_frames (int): Frames T.
        window (int): Frames per local window (>= 1).
        types (Sequence[str]): Names from :data:`PARTITION_TYPES`.

    Returns:
        np.ndarray: ``mask[k, i, j]``: token j is in token i's partition
        of type ``types[k]``; shape (len(types), T * V, T * V), bool;
        symmetric, with a true diagonal.
    """
    if window < 1 or num_frames < 1:
        raise ValueError('num_frames and window must be >= 1, got '
                         f'{num_frames} and {window}')
    unknown = [t for t in types if t not in PARTITION_TYPES]
    if unknown:
        raise ValueError(f'unknown partition types {unknown}; choose from '
                         f'{PARTITION_TYPES}')
    part, place = joint_parts(layout)
    frame = np.arange(num_frames)
    # per token (frame-major): its frame's window and place, its joint's
    # part and place
    t_win = np.repeat(frame // window, len(part))
    t_pos = np.repeat(frame % window, len(part))
    j_part = np.tile(part, num_frames)
    j_place = np.tile(place, num_frames)

    def same(x: np.ndarray) -> np.ndarray:
        return x[:, None] == x[None, :]

    joints = dict(near=same(j_part), far=same(j_place))
    frames = dict(local=same(t_win), glob=same(t_pos))
    out = []
    for name in types:
        j, f = name.split('-')
        out.append(joints[j] & frames['glob' if f == 'global' else f])
    return np.stack(out)
