"""Skeleton-sequence maths of action recognition: uniform frame sampling,
coordinate normalisation, joint / bone / motion features, and top-k
classification accuracy.

Frame sampling (:func:`uniform_sample_indices`) follows the rule of
MMAction2's ``UniformSampleFrames`` for sequences at least ``clip_len``
long: the ``T`` frames are cut into ``clip_len`` segments of nearly equal
length (edges ``floor(i T / clip_len)``) and one frame is taken from each,
at random in training and at a fixed place in testing. A shorter sequence
is stretched (frame ``floor(i T / clip_len)``, frames repeat) instead of
looped, so time keeps running forwards.

Normalisation (:func:`normalize_skeleton`): 2D pixels map to ``[-1, 1]``
through the image centre and half size (MMAction2's ``PreNormalize2D``);
3D joints are translated so that the root joint of the first frame is at
the origin and keep their unit (metres for SynthActions and NTU-60), so a
noise std of 0.01 means 1 cm. These are the "normalised units" of the
robustness curves.

Note:
    - M: number of persons
    - T: number of frames
    - V: number of joints
    - C: number of coordinates (2 or 3)
    - N: number of samples, K: number of classes
"""
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'SKELETON_FEATURES', 'uniform_sample_indices', 'normalize_skeleton',
    'skeleton_features', 'topk_accuracy', 'mean_class_accuracy',
    'confusion_matrix'
]

#: Feature names of :func:`skeleton_features`: joints, bones (joint minus
#: its parent), joint motion and bone motion (next frame minus this frame,
#: zero at the last frame).
SKELETON_FEATURES: Tuple[str, ...] = ('j', 'b', 'jm', 'bm')


def uniform_sample_indices(total_frames: int,
                           clip_len: int,
                           num_clips: int = 1,
                           rng: Optional[np.random.Generator] = None
                           ) -> np.ndarray:
    """Frame indices of ``num_clips`` clips of ``clip_len`` frames spread
    uniformly over a sequence (see the module docstring).

    Args:
        total_frames (int): Frames T of the sequence (>= 1).
        clip_len (int): Frames per clip (>= 1).
        num_clips (int): Clips. In testing (``rng`` None) clip ``c`` takes
            the frame at fraction ``(c + 0.5) / num_clips`` of each segment.
        rng (np.random.Generator, optional): Random generator for training:
            a uniform frame of each segment per clip. None: testing.

    Returns:
        np.ndarray: Frame indices in ``[0, T)``, non-decreasing within a
        clip, shape (num_clips, clip_len), int64.
    """
    for name, value in (('total_frames', total_frames),
                        ('clip_len', clip_len), ('num_clips', num_clips)):
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1:
            raise ValueError(f'{name} must be an int >= 1, got {value!r}')
    edges = (np.arange(clip_len + 1, dtype=np.int64) * total_frames) \
        // clip_len
    if total_frames < clip_len:
        return np.tile(edges[:-1], (num_clips, 1))
    start, size = edges[:-1], np.diff(edges)  # size >= 1
    if rng is None:
        where = (np.arange(num_clips)[:, None] + 0.5) / num_clips
        offset = np.floor(where * size[None]).astype(np.int64)
    else:
        offset = np.floor(
            rng.random((num_clips, clip_len)) * size[None]).astype(np.int64)
    return start[None] + np.minimum(offset, size[None] - 1)


def normalize_skeleton(keypoint: np.ndarray,
                       img_shape: Optional[Sequence[int]] = None,
                       root: int = 0) -> np.ndarray:
    """Normalise a skeleton sequence (see the module docstring).

    Args:
        keypoint (np.ndarray): Joints, shape (M, T, V, C) with C = 2
            (pixels) or 3 (metric 3D).
        img_shape (Sequence[int], optional): ``(height, width)`` of the
            image, required for 2D.
        root (int): Root joint of 3D sequences.

    Returns:
        np.ndarray: Normalised joints, float32, shape (M, T, V, C).
    """
    kpt = np.asarray(keypoint, dtype=np.float64)
    if kpt.ndim != 4 or kpt.shape[-1] not in (2, 3):
        raise ValueError('keypoint must have shape (M, T, V, C) with C in '
                         f'(2, 3), got {kpt.shape}')
    if kpt.shape[-1] == 2:
        if img_shape is None or len(img_shape) != 2 or min(img_shape) <= 0:
            raise ValueError('2D keypoints need img_shape=(height, width) '
                             f'> 0, got {img_shape!r}')
        half = np.array([img_shape[1], img_shape[0]], np.float64) / 2
        return ((kpt - half) / half).astype(np.float32)
    if not 0 <= root < kpt.shape[2]:
        raise ValueError(f'root {root} out of range for {kpt.shape[2]} '
                         'joints')
    origin = kpt[:, :1, root:root + 1]  # (M, 1, 1, 3)
    return (kpt - origin).astype(np.float32)


def _motion(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    out[:, :-1] = x[:, 1:] - x[:, :-1]
    return out


def skeleton_features(keypoint: np.ndarray,
                      parents: Sequence[int],
                      feats: Sequence[str] = ('j', ),
                      score: Optional[np.ndarray] = None) -> np.ndarray:
    """Joint, bone and motion features, concatenated along the channels.

    Args:
        keypoint (np.ndarray): Joints, shape (M, T, V, C).
        parents (Sequence[int]): Parent of each joint, shape (V, ); a
            joint that is its own parent (the root) has a zero bone.
        feats (Sequence[str]): Names from :data:`SKELETON_FEATURES`, in
            output order.
        score (np.ndarray, optional): Keypoint scores (M, T, V), appended
            after each feature's C channels as MMAction2's ``GenSkeFeat``
            does (bones and motions take the scores unchanged).

    Returns:
        np.ndarray: Shape (M, T, V, len(feats) * (C + [score given])),
        float32.
    """
    kpt = np.asarray(keypoint, dtype=np.float32)
    if kpt.ndim != 4:
        raise ValueError(f'keypoint must have shape (M, T, V, C), got '
                         f'{kpt.shape}')
    parents = np.asarray(parents, dtype=np.int64)
    if parents.shape != (kpt.shape[2], ) or parents.min() < 0 \
            or parents.max() >= kpt.shape[2]:
        raise ValueError(f'parents must be {kpt.shape[2]} joint indices, '
                         f'got {parents.tolist()}')
    if not feats or any(f not in SKELETON_FEATURES for f in feats):
        raise ValueError(f'feats must be names from {SKELETON_FEATURES}, '
                         f'got {feats!r}')
    if score is not None:
        score = np.asarray(score, dtype=np.float32)
        if score.shape != kpt.shape[:3]:
            raise ValueError(f'score must have shape {kpt.shape[:3]}, got '
                             f'{score.shape}')
    bone = kpt - kpt[:, :, parents]
    table = dict(j=kpt, b=bone, jm=_motion(kpt), bm=_motion(bone))
    parts = []
    for name in feats:
        parts.append(table[name])
        if score is not None:
            parts.append(score[..., None])
    return np.concatenate(parts, axis=-1)


def _check_scores(scores: np.ndarray, labels: np.ndarray
                  ) -> Tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError('scores must be (N, K) and labels (N, ), got '
                         f'{scores.shape} and {labels.shape}')
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f'labels must be in [0, {scores.shape[1]})')
    return scores, labels.astype(np.int64)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray,
                  topk: Sequence[int] = (1, 5)) -> Tuple[float, ...]:
    """Top-k accuracy: the fraction of samples whose label is among the
    ``k`` highest scores.

    Tie rule: the label's rank is the number of classes with a strictly
    higher score, so a label tied with the k-th score counts as correct.

    Args:
        scores (np.ndarray): Class scores, shape (N, K).
        labels (np.ndarray): True classes, shape (N, ).
        topk (Sequence[int]): The k values (>= 1).

    Returns:
        tuple[float]: One accuracy per k (NaN for N = 0).
    """
    scores, labels = _check_scores(scores, labels)
    if not labels.size:
        return tuple(float('nan') for _ in topk)
    own = scores[np.arange(len(labels)), labels]
    rank = (scores > own[:, None]).sum(axis=1)
    return tuple(float((rank < k).mean()) for k in topk)


def confusion_matrix(pred: np.ndarray, labels: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Args:
        pred (np.ndarray): Predicted classes, shape (N, ).
        labels (np.ndarray): True classes, shape (N, ).
        num_classes (int): Classes K.

    Returns:
        np.ndarray: ``cm[i, j]`` = samples of class i predicted as j,
        shape (K, K), int64.
    """
    pred = np.asarray(pred, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if pred.shape != labels.shape or pred.ndim != 1:
        raise ValueError('pred and labels must be equal-length vectors')
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy averaged over the classes present in ``labels``
    (prediction: the first class of highest score).

    Args:
        scores (np.ndarray): Class scores, shape (N, K).
        labels (np.ndarray): True classes, shape (N, ).

    Returns:
        float: The mean of the per-class recalls (NaN for N = 0).
    """
    scores, labels = _check_scores(scores, labels)
    if not labels.size:
        return float('nan')
    cm = confusion_matrix(scores.argmax(axis=1), labels, scores.shape[1])
    support = cm.sum(axis=1)
    present = support > 0
    return float((np.diag(cm)[present] / support[present]).mean())
