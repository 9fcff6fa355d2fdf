"""Keypoint-level corruptions of a 2D keypoint video, the input of a 2D-to-3D
lifter: detector failures (missing joints and limbs, jitter, slow drift,
left/right swaps) and a stalled decoder (dropped frames).

:func:`corrupt_keypoints` applies one corruption by name
(:data:`KEYPOINT_CORRUPTIONS`) at a severity in ``0..5``: 0 returns
unchanged copies and the fraction of affected frames / joints and the
magnitude grow with the severity (constants in
:data:`KEYPOINT_SEVERITY_PARAMS`, this project's choice):

- ``joint_dropout``: every joint independently goes missing in random
  spans of consecutive frames covering a fraction of the frames;
- ``missing_limb``: random spans of frames in each of which one random limb
  (a whole arm or leg chain of ``limbs``) is missing;
- ``jitter``: i.i.d. Gaussian noise on x and y, std a fraction of the
  person's pixel size ``scale``;
- ``bias_drift``: a slowly varying offset per joint (a random walk smoothed
  by a moving average), rescaled so that its RMS length over the video is a
  fraction of ``scale``;
- ``lr_swap``: random spans of frames in which every left/right pair of
  ``flip_pairs`` is swapped (coordinates and scores);
- ``frame_drop``: random spans of frames replaced by the last kept frame
  (coordinates and scores), like a stalled decoder; frame 0 is always kept.

Missing joints (:func:`fill_missing`) get score 0 and the coordinates of
the centroid of the frame's present joints (those with score > 0 that are
not missing): a neutral but wrong guess that a lifter which ignores scores
cannot tell from a detection. In a frame without any present joint, the
missing joints hold their coordinates of the nearest earlier frame that has
one (of the first later such frame at the start of the video); in a video
without any present joint they take the centroid of all the frame's input
joints.

Spans (:func:`random_spans`): a fraction ``f`` of ``T`` frames is covered
exactly (``round(f T)`` frames) by about ``round(f T / L)`` spans of nearly
equal length ``~L``, separated by gaps of at least one frame at random
positions.

Note:
    - T: number of frames
    - K: number of keypoints (joints)
    - Inputs are never modified; outputs are new arrays, keypoints and
      scores in their input floating dtype (float64 for integer input).
"""
from numbers import Integral
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'H36M_KEYPOINT_NAMES', 'H36M_FLIP_PAIRS', 'H36M_LIMBS',
    'KEYPOINT_CORRUPTIONS', 'KEYPOINT_SEVERITY_PARAMS', 'DRIFT_SMOOTHING',
    'random_spans', 'fill_missing', 'corrupt_keypoints'
]

#: Human3.6M-17 joint order of MMPose's ``h36m`` metainfo.
H36M_KEYPOINT_NAMES = ('root', 'right_hip', 'right_knee', 'right_foot',
                       'left_hip', 'left_knee', 'left_foot', 'spine',
                       'thorax', 'neck_base', 'head', 'left_shoulder',
                       'left_elbow', 'left_wrist', 'right_shoulder',
                       'right_elbow', 'right_wrist')

#: Left/right joint pairs of Human3.6M-17 (hips, knees, feet, shoulders,
#: elbows, wrists).
H36M_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = ((1, 4), (2, 5), (3, 6),
                                                (11, 14), (12, 15), (13, 16))

#: Limbs of Human3.6M-17: left arm, right arm, left leg, right leg.
H36M_LIMBS: Tuple[Tuple[int, ...], ...] = ((11, 12, 13), (14, 15, 16),
                                           (4, 5, 6), (1, 2, 3))

#: Names accepted by :func:`corrupt_keypoints`.
KEYPOINT_CORRUPTIONS = ('joint_dropout', 'missing_limb', 'jitter',
                        'bias_drift', 'lr_swap', 'frame_drop')

#: Constants of severities 1..5 (index ``severity - 1``): ``fraction`` of
#: frames affected (per joint for ``joint_dropout``), ``span`` length in
#: frames, ``std`` / ``rms`` magnitude as a fraction of ``scale``.
KEYPOINT_SEVERITY_PARAMS: Dict[str, Dict[str, tuple]] = {
    'joint_dropout': dict(fraction=(0.05, 0.1, 0.2, 0.3, 0.4),
                          span=(3, 5, 8, 12, 16)),
    'missing_limb': dict(fraction=(0.1, 0.2, 0.3, 0.4, 0.5),
                         span=(5, 10, 15, 20, 25)),
    'jitter': dict(std=(0.01, 0.02, 0.04, 0.06, 0.08)),
    'bias_drift': dict(rms=(0.02, 0.04, 0.06, 0.08, 0.1)),
    'lr_swap': dict(fraction=(0.02, 0.05, 0.1, 0.15, 0.2),
                    span=(1, 2, 3, 4, 5)),
    'frame_drop': dict(fraction=(0.1, 0.2, 0.3, 0.4, 0.5),
                       span=(2, 3, 4, 6, 8)),
}

#: Half-width in frames of the moving average that smooths the drift's
#: random walk (window ``2 * DRIFT_SMOOTHING + 1``, shorter for short
#: videos).
DRIFT_SMOOTHING = 12

Pairs = Sequence[Sequence[int]]
ScaleLike = Union[float, np.ndarray, Sequence[float], None]


# ----------------------------------------------------------------- helpers
def random_spans(rng: np.random.Generator, length: int, fraction: float,
                 span: int) -> np.ndarray:
    """Random spans of consecutive frames covering a fraction of a video.

    Exactly ``on = round(fraction * length)`` frames are covered, by
    ``n = clip(round(on / span), 1, min(on, length - on + 1))`` spans whose
    lengths differ by at most one (in random order). The ``length - on``
    uncovered frames form the ``n + 1`` gaps around them: the ``n - 1``
    inner gaps get one frame each (so spans never merge) and the rest is
    spread over all gaps by a uniform multinomial draw.

    Args:
        rng (np.random.Generator): Source of randomness.
        length (int): Number of frames ``T``, ``>= 0``.
        fraction (float): Covered fraction in ``[0, 1]``.
        span (int): Target span length in frames, ``>= 1``.

    Returns:
        np.ndarray: Mask of covered frames, shape (T,), bool.
    """
    length = int(length)
    if length < 0 or not 0.0 <= fraction <= 1.0 or int(span) < 1:
        raise ValueError('need length >= 0, 0 <= fraction <= 1 and span >= '
                         f'1, got {length}, {fraction}, {span}')
    on = min(length, int(round(fraction * length)))
    if on == 0:
        return np.zeros(length, dtype=bool)
    off = length - on
    n = int(np.clip(round(on / int(span)), 1, min(on, off + 1)))
    lens = np.full(n, on // n, dtype=np.int64)
    lens[:on % n] += 1
    lens = rng.permutation(lens)
    gaps = rng.multinomial(off - (n - 1), np.full(n + 1, 1.0 / (n + 1)))
    gaps[1:-1] += 1
    counts = np.empty(2 * n + 1, dtype=np.int64)
    counts[0::2], counts[1::2] = gaps, lens
    values = np.zeros(2 * n + 1, dtype=bool)
    values[1::2] = True
    return np.repeat(values, counts)


def fill_missing(keypoints: np.ndarray, scores: np.ndarray,
                 missing: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mark joints missing: score 0 and centroid coordinates.

    A missing joint gets score 0 and the mean coordinates of the frame's
    present joints (``scores > 0`` and not ``missing``). In frames with no
    present joint the missing joints hold their output coordinates of the
    nearest earlier frame that has one (the first later one for leading
    frames); if no frame has a present joint they get the centroid of all
    the frame's input joints. Joints not missing are returned unchanged
    (including input joints whose score was already 0).

    Args:
        keypoints (np.ndarray): Coordinates, (T, K, 2), floating.
        scores (np.ndarray): Scores, (T, K), floating.
        missing (np.ndarray): Joints to remove, (T, K), bool.

    Returns:
        tuple[np.ndarray, np.ndarray]: New ``keypoints`` (T, K, 2) and
        ``scores`` (T, K).
    """
    missing = np.asarray(missing, dtype=bool)
    present = (scores > 0) & ~missing
    count = present.sum(axis=1)
    centroid = (keypoints * present[..., None]).sum(axis=1) / np.maximum(
        count, 1)[:, None]
    out = np.where(missing[..., None], centroid[:, None], keypoints)
    empty = count == 0
    if empty.any():
        has = np.flatnonzero(~empty)
        if has.size == 0:
            src_kpts = np.broadcast_to(
                keypoints.mean(axis=1, keepdims=True), keypoints.shape)
        else:
            t = np.arange(len(keypoints))
            src = np.maximum.accumulate(np.where(~empty, t, -1))
            src[src < 0] = has[0]
            src_kpts = out[src]
        hold = (missing & empty[:, None])[..., None]
        out = np.where(hold, src_kpts, out)
    out_scores = np.where(missing, 0, scores).astype(scores.dtype)
    return out.astype(keypoints.dtype), out_scores


def _check_pairs(pairs: Pairs, num_kpts: int, what: str,
                 size: Optional[int] = None) -> Tuple[Tuple[int, ...], ...]:
    try:
        groups = tuple(tuple(int(i) for i in g) for g in pairs)
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a sequence of index sequences, '
                         f'got {pairs!r}') from None
    flat = [i for g in groups for i in g]
    if any((size is not None and len(g) != size) or len(g) == 0
           for g in groups) or any(not 0 <= i < num_kpts for i in flat):
        raise ValueError(f'{what} must hold {"pairs of " if size else ""}'
                         f'joint indices in [0, {num_kpts}), got {pairs!r}')
    if size == 2 and len(set(flat)) != len(flat):
        raise ValueError(f'{what}: a joint appears in two pairs: {pairs!r}')
    return groups


def _check_scale(scale: ScaleLike, num_frames: int, name: str) -> np.ndarray:
    if scale is None:
        raise ValueError(f'{name} needs `scale`, the pixel size of the person '
                         '(e.g. the bbox height), a number or shape (T,)')
    arr = np.asarray(scale, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(num_frames, float(arr))
    if arr.shape != (num_frames, ) or not np.isfinite(arr).all() \
            or (arr <= 0).any():
        raise ValueError(f'scale must be a positive finite number or shape '
                         f'({num_frames},), got {np.shape(scale)}')
    return arr


# ------------------------------------------------------------- corruptions
def _joint_dropout(kpts, scores, p, rng, **_):
    num_frames, num_kpts = scores.shape
    missing = np.stack([
        random_spans(rng, num_frames, p['fraction'], p['span'])
        for _ in range(num_kpts)
    ], axis=1).reshape(num_frames, num_kpts)
    return fill_missing(kpts, scores, missing)


def _missing_limb(kpts, scores, p, rng, limbs, **_):
    num_frames = len(kpts)
    frames = random_spans(rng, num_frames, p['fraction'], p['span'])
    # one random limb per span
    starts = np.flatnonzero(frames & ~np.r_[False, frames[:-1]])
    span_id = np.cumsum(frames & ~np.r_[False, frames[:-1]]) - 1
    choice = rng.integers(len(limbs), size=starts.size)
    limb_mask = np.zeros((len(limbs), scores.shape[1]), dtype=bool)
    for i, limb in enumerate(limbs):
        limb_mask[i, list(limb)] = True
    missing = np.zeros(scores.shape, dtype=bool)
    missing[frames] = limb_mask[choice[span_id[frames]]]
    return fill_missing(kpts, scores, missing)


def _jitter(kpts, scores, p, rng, scale, **_):
    std = p['std'] * scale[:, None, None]
    return kpts + std * rng.standard_normal(kpts.shape), scores.copy()


def _moving_average(x: np.ndarray, half: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge padding."""
    if half <= 0:
        return x
    padded = np.concatenate([np.repeat(x[:1], half, axis=0), x,
                             np.repeat(x[-1:], half, axis=0)])
    csum = np.cumsum(padded, axis=0)
    csum = np.concatenate([np.zeros_like(csum[:1]), csum])
    width = 2 * half + 1
    return (csum[width:] - csum[:-width]) / width


def _bias_drift(kpts, scores, p, rng, scale, **_):
    num_frames = len(kpts)
    walk = np.cumsum(rng.standard_normal(kpts.shape), axis=0)
    half = min(DRIFT_SMOOTHING, (num_frames - 1) // 2)
    walk = _moving_average(walk, half)
    rms = np.sqrt((walk**2).sum(axis=2).mean(axis=0))  # (K,)
    unit = walk / np.where(rms > 0, rms, 1.0)[None, :, None]
    return kpts + p['rms'] * scale[:, None, None] * unit, scores.copy()


def _lr_swap(kpts, scores, p, rng, flip_pairs, **_):
    frames = random_spans(rng, len(kpts), p['fraction'], p['span'])
    perm = np.arange(scores.shape[1])
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    out_k, out_s = kpts.copy(), scores.copy()
    out_k[frames] = kpts[frames][:, perm]
    out_s[frames] = scores[frames][:, perm]
    return out_k, out_s


def _frame_drop(kpts, scores, p, rng, **_):
    num_frames = len(kpts)
    drop = np.zeros(num_frames, dtype=bool)
    drop[1:] = random_spans(rng, num_frames - 1, p['fraction'], p['span'])
    src = np.maximum.accumulate(np.where(drop, 0, np.arange(num_frames)))
    return kpts[src], scores[src]


_FUNCS = {
    'joint_dropout': _joint_dropout,
    'missing_limb': _missing_limb,
    'jitter': _jitter,
    'bias_drift': _bias_drift,
    'lr_swap': _lr_swap,
    'frame_drop': _frame_drop,
}


def corrupt_keypoints(
    keypoints: np.ndarray,
    scores: np.ndarray,
    name: str,
    severity: int,
    rng: np.random.Generator,
    scale: ScaleLike = None,
    flip_pairs: Pairs = H36M_FLIP_PAIRS,
    limbs: Pairs = H36M_LIMBS,
) -> Tuple[np.ndarray, np.ndarray]:
    """Corrupt a 2D keypoint video (see the module docstring per name).

    Args:
        keypoints (np.ndarray): 2D keypoints, (T, K, 2), in pixels.
        scores (np.ndarray): Detection scores, (T, K); ``> 0`` is present.
        name (str): One of :data:`KEYPOINT_CORRUPTIONS`.
        severity (int): 0..5; 0 returns unchanged copies.
        rng (np.random.Generator): Source of randomness.
        scale (float | np.ndarray, optional): Pixel size of the person per
            frame (e.g. the bbox height), a number or shape (T,), ``> 0``;
            required by ``jitter`` and ``bias_drift``. Defaults to None.
        flip_pairs (Sequence[Sequence[int]]): Left/right joint pairs for
            ``lr_swap``. Defaults to :data:`H36M_FLIP_PAIRS`.
        limbs (Sequence[Sequence[int]]): Joint chains for ``missing_limb``.
            Defaults to :data:`H36M_LIMBS`.

    Returns:
        tuple[np.ndarray, np.ndarray]: Corrupted ``keypoints`` (T, K, 2) and
        ``scores`` (T, K), new arrays.

    Raises:
        ValueError: Unknown name (listing the choices), severity outside
            0..5, bad shapes, missing or bad ``scale``, bad pairs / limbs.
        TypeError: ``rng`` not a Generator.
    """
    if not isinstance(name, str) or name not in KEYPOINT_CORRUPTIONS:
        raise ValueError(f'unknown keypoint corruption {name!r}; choose one '
                         f'of {", ".join(KEYPOINT_CORRUPTIONS)}')
    if isinstance(severity, bool) or not isinstance(severity, Integral) \
            or not 0 <= int(severity) <= 5:
        raise ValueError(f'severity must be an int in 0..5, got {severity!r}')
    if not isinstance(rng, np.random.Generator):
        raise TypeError('rng must be a numpy.random.Generator, got '
                        f'{type(rng)}')
    kpts = np.asarray(keypoints)
    scr = np.asarray(scores)
    if kpts.ndim != 3 or kpts.shape[2] != 2 or kpts.shape[0] == 0 \
            or kpts.shape[1] == 0:
        raise ValueError('keypoints must have shape (T, K, 2) with T, K >= '
                         f'1, got {kpts.shape}')
    if scr.shape != kpts.shape[:2]:
        raise ValueError(f'scores must have shape {kpts.shape[:2]} (T, K), '
                         f'got {scr.shape}')
    kpts = kpts.astype(kpts.dtype if np.issubdtype(kpts.dtype, np.floating)
                       else np.float64)  # a copy
    scr = scr.astype(scr.dtype if np.issubdtype(scr.dtype, np.floating)
                     else np.float64)
    num_frames, num_kpts = scr.shape
    pairs = _check_pairs(flip_pairs, num_kpts, 'flip_pairs', size=2)
    limb_groups = _check_pairs(limbs, num_kpts, 'limbs')
    if name == 'missing_limb' and not limb_groups:
        raise ValueError('missing_limb needs at least one limb')
    scale_arr = _check_scale(scale, num_frames, name) \
        if name in ('jitter', 'bias_drift') else None
    severity = int(severity)
    if severity == 0:
        return kpts, scr
    params = {k: v[severity - 1]
              for k, v in KEYPOINT_SEVERITY_PARAMS[name].items()}
    out_k, out_s = _FUNCS[name](kpts, scr, params, rng, scale=scale_arr,
                                flip_pairs=pairs, limbs=limb_groups)
    return out_k.astype(kpts.dtype, copy=False), out_s.astype(
        scr.dtype, copy=False)
