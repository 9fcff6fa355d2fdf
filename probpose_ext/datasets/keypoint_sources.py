"""2D keypoint sources of lifters: the files a lifting config reads
instead of the ground-truth 2D.

A *source* gives every frame of a Human3.6M-layout annotation file
(``imgname``, ``S``, ``part``, ...) a 2D pose and per-joint confidences:

* ``{name}.npy``, shape (N, K, 3) float32 (x, y, confidence): MMPose's own
  detection format, read by ``Human36mDataset(keypoint_2d_src='detection',
  keypoint_2d_det_file=...)``; the confidence becomes
  ``keypoints_visible`` (what the confidence-aware TCN weighs);
* optionally ``{name}_dist.npz`` with ``mean`` (N, K, 2) and ``factor``
  (N, 2K, 2K) float32: a Gaussian ``N(mean, factor factor^T)`` per frame
  over the 2K coordinates ``(x_0, y_0, x_1, ...)``, from which
  :class:`~probpose_ext.datasets.transforms.SampleKeypoints2D` draws a fresh
  pose every time a frame is loaded (every epoch).

Sources made here: the ground truth (:func:`gt_source`), the ground truth
plus i.i.d. Gaussian noise (:func:`noisy_source`), and a 2D model's
predictions on rendered frames (:func:`prediction_source`, from the
``tools/test.py --dump`` pickle of a top-down model run on the frames' COCO
annotations), mapped from COCO-17 to Human3.6M-17 by
:mod:`probpose_ext.ops.joint_mapping`; a model that predicts covariances
(``keypoints_cov_full`` of the TIC head, ``keypoints_cov`` of ProbPose's
moment-matched maps) also gets a distribution file. The factor is the
COCO covariance's Cholesky factor mapped by ``A kron I_2`` (not a Cholesky
factor of the mapped covariance, which is singular: root, spine and thorax
are combinations of the same four keypoints), so ``mean + factor z`` with
``z ~ N(0, I)`` has exactly the mapped distribution.

Note:
    - N: frames of the annotation file
    - K: keypoints (17)
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .generators.synthmotion import npz_bytes
from ..ops.joint_mapping import (COCO_TO_H36M_WEIGHTS, map_keypoints,
                                 map_scores)
from ..utils.atomic import atomic_write
from ..utils.validation import load_pickle

__all__ = [
    'DIST_SUFFIX', 'source_paths', 'write_source', 'read_source',
    'read_distribution', 'gt_source', 'noisy_source', 'read_predictions',
    'prediction_source'
]

#: Suffix of the distribution file beside a source's ``.npy``.
DIST_SUFFIX = '_dist.npz'


def source_paths(prefix: str) -> Tuple[str, str]:
    """The detection file and the distribution file of a source.

    Args:
        prefix (str): Path without suffix, e.g. ``DIR/tic_test``.

    Returns:
        tuple[str, str]: ``prefix.npy`` and ``prefix_dist.npz``.
    """
    return prefix + '.npy', prefix + DIST_SUFFIX


def _check_pose(keypoints: np.ndarray, scores: np.ndarray) -> None:
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise ValueError('keypoints must have shape (N, K, 2), got '
                         f'{keypoints.shape}')
    if scores.shape != keypoints.shape[:2]:
        raise ValueError(f'scores must have shape {keypoints.shape[:2]}, got '
                         f'{scores.shape}')
    if not (np.isfinite(keypoints).all() and np.isfinite(scores).all()):
        raise ValueError('keypoints and scores must be finite')


def write_source(prefix: str,
                 keypoints: np.ndarray,
                 scores: np.ndarray,
                 factor: Optional[np.ndarray] = None) -> Dict[str, str]:
    """Write a source (see the module docstring).

    Args:
        prefix (str): Path without suffix; folders are created.
        keypoints (np.ndarray): Pixels, shape (N, K, 2).
        scores (np.ndarray): Confidences in [0, 1], shape (N, K).
        factor (np.ndarray, optional): Covariance factors, shape
            (N, 2K, 2K); writes the distribution file with ``mean =
            keypoints``.

    Returns:
        dict[str, str]: ``det_file`` and, with a factor, ``dist_file``.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    _check_pose(keypoints, scores)
    det_file, dist_file = source_paths(prefix)
    os.makedirs(osp.dirname(osp.abspath(det_file)), exist_ok=True)
    det = np.concatenate([keypoints, scores[..., None]], axis=-1)
    atomic_write(det_file, lambda f: np.save(f, det.astype(np.float32)),
                 keep_identical=True)
    out = dict(det_file=det_file)
    if factor is not None:
        n, k = scores.shape
        factor = np.asarray(factor, dtype=np.float32)
        if factor.shape != (n, 2 * k, 2 * k):
            raise ValueError(f'factor must have shape ({n}, {2 * k}, '
                             f'{2 * k}), got {factor.shape}')
        arrays = dict(mean=keypoints.astype(np.float32), factor=factor)
        atomic_write(dist_file, lambda f: f.write(npz_bytes(arrays)),
                     keep_identical=True)
        out['dist_file'] = dist_file
    return out


def read_source(det_file: str) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, K, 2) and confidences (N, K) of a detection file."""
    det = np.load(det_file)
    if det.ndim != 3 or det.shape[-1] != 3:
        raise ValueError(f'{det_file}: expected shape (N, K, 3), got '
                         f'{det.shape}')
    return det[..., :2].astype(np.float64), det[..., 2].astype(np.float64)


def read_distribution(dist_file: str) -> Tuple[np.ndarray, np.ndarray]:
    """``mean`` (N, K, 2) and ``factor`` (N, 2K, 2K) of a distribution
    file, float32 (memory-mapped reads are not possible inside npz, so the
    arrays are loaded once)."""
    with np.load(dist_file) as data:
        mean, factor = data['mean'], data['factor']
    n, k = mean.shape[:2]
    if mean.shape != (n, k, 2) or factor.shape != (n, 2 * k, 2 * k):
        raise ValueError(f'{dist_file}: mean {mean.shape} and factor '
                         f'{factor.shape} do not match (N, K, 2) and '
                         '(N, 2K, 2K)')
    return mean, factor


def gt_source(ann: Dict[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The ground truth 2D of an annotation file (``part``) with
    confidence 1.

    Args:
        ann (dict): The annotation arrays (``part`` (N, K, 3)).

    Returns:
        tuple[np.ndarray, np.ndarray]: Keypoints (N, K, 2), scores (N, K).
    """
    part = np.asarray(ann['part'], dtype=np.float64)
    return part[..., :2].copy(), np.ones(part.shape[:2])


def noisy_source(keypoints: np.ndarray, std: float,
                 seed: int) -> np.ndarray:
    """Keypoints plus i.i.d. Gaussian noise of ``std`` pixels per
    coordinate (a fixed draw for ``seed``).

    Args:
        keypoints (np.ndarray): Shape (N, K, 2).
        std (float): Standard deviation in pixels, >= 0.
        seed (int): Seed of the draw.

    Returns:
        np.ndarray: Shape (N, K, 2).
    """
    if not std >= 0:
        raise ValueError(f'std must be >= 0, got {std}')
    rng = np.random.default_rng(seed)
    return keypoints + std * rng.standard_normal(keypoints.shape)


def read_predictions(dump: Union[str, Sequence[dict]],
                     num_frames: int) -> Dict[str, np.ndarray]:
    """A top-down 2D model's predictions (``tools/test.py --dump``) on the
    frames of a rendered sequence file, in frame order.

    The frames' COCO file numbers images ``row + 1`` with one person each
    (``datasets/generators/synthmotion_video.py``).

    Args:
        dump (str | Sequence[dict]): The pickle of MMEngine's
            ``DumpResults``, or its list of samples (e.g. from
            :class:`~probpose_ext.apis.inprocess.InProcessTester`).
        num_frames (int): N, the frames of the annotation file.

    Returns:
        dict[str, np.ndarray]: ``keypoints`` (N, 17, 2), ``scores`` (N, 17)
        and, when the model wrote them, ``cov`` (N, 34, 34) or (N, 17, 2, 2)
        in pixels^2 (COCO order).
    """
    samples = load_pickle(dump, 'prediction dump') if isinstance(
        dump, (str, os.PathLike)) else dump
    where = dump if isinstance(dump, (str, os.PathLike)) else 'predictions'
    out: Dict[str, np.ndarray] = {}
    seen = np.zeros(num_frames, dtype=bool)
    for sample in samples:
        row = int(sample['img_id']) - 1
        if not 0 <= row < num_frames:
            raise ValueError(f'{where}: img_id {row + 1} is not a frame of '
                             f'the {num_frames} frames')
        pred = sample['pred_instances']
        fields = dict(keypoints=pred['keypoints'],
                      scores=pred['keypoint_scores'])
        if 'keypoints_cov_full' in pred:
            fields['cov'] = pred['keypoints_cov_full']
        elif 'keypoints_cov' in pred:
            fields['cov'] = pred['keypoints_cov']
        for key, value in fields.items():
            value = np.asarray(value, dtype=np.float64)[0]
            if key not in out:
                out[key] = np.zeros((num_frames, ) + value.shape)
            out[key][row] = value
        seen[row] = True
    if not seen.all():
        raise ValueError(f'{where}: {int((~seen).sum())} of {num_frames} '
                         'frames have no prediction')
    return out


def _cholesky_factor(cov: np.ndarray, jitter: float = 1e-3) -> np.ndarray:
    """Lower Cholesky factors of covariances, shape (N, D, D), with
    ``jitter`` pixels^2 added to the diagonal (predicted covariances can be
    singular to rounding)."""
    d = cov.shape[-1]
    sym = 0.5 * (cov + np.swapaxes(cov, -1, -2)) + jitter * np.eye(d)
    return np.linalg.cholesky(sym)


def _block_factor(cov: np.ndarray) -> np.ndarray:
    """Block-diagonal factor (N, 2K, 2K) of per-keypoint covariances
    (N, K, 2, 2)."""
    n, k = cov.shape[:2]
    blocks = _cholesky_factor(cov.reshape(n * k, 2, 2)).reshape(n, k, 2, 2)
    factor = np.zeros((n, k, 2, k, 2))
    idx = np.arange(k)
    factor[:, idx, :, idx, :] = blocks.transpose(1, 0, 2, 3)
    return factor.reshape(n, 2 * k, 2 * k)


def prediction_source(
        preds: Dict[str, np.ndarray],
        weights: np.ndarray = COCO_TO_H36M_WEIGHTS
) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Map a 2D model's COCO-17 predictions to the lifter's joints.

    Args:
        preds (dict): Output of :func:`read_predictions`.
        weights (np.ndarray): The joint map (K_dst, K_src).

    Returns:
        tuple: ``keypoints`` (N, K_dst, 2), ``scores`` (N, K_dst) and the
        mapped covariance ``factor`` (N, 2K_dst, 2K_dst) or None.
    """
    keypoints = map_keypoints(preds['keypoints'], weights)
    scores = map_scores(preds['scores'], weights)
    factor = None
    cov = preds.get('cov')
    if cov is not None:
        if cov.ndim == 4:
            chol = _block_factor(cov)
        else:
            chol = _cholesky_factor(cov)
        factor = np.kron(weights, np.eye(2)) @ chol
    return keypoints, scores, factor

