"""Map COCO-17 keypoints to the Human3.6M-17 joints a lifter takes.

2D models predict the 17 COCO keypoints; MMPose's Human3.6M lifters take
the 17 Human3.6M joints. Thirteen joints are the same points in both sets
(hips, knees, ankles = H36M feet, shoulders, elbows, wrists, and the nose =
H36M ``neck_base``, "Neck/Nose"); the other four are affine combinations
(weights summing to 1, so the map commutes with translations, rotations
and scalings of the image):

==========  ====================================================
H36M joint  COCO keypoints
==========  ====================================================
root        0.9 mid-hip + 0.1 mid-shoulder
spine       0.4 mid-hip + 0.6 mid-shoulder
thorax      1.1 mid-shoulder - 0.1 mid-hip
head        1.28 mid-ear + 0.15 mid-eye - 0.43 mid-shoulder
==========  ====================================================

(mid-X = the mean of the left and right X). The weights are least-squares
fits, rounded, of the body model of the embedded generators
(``datasets/generators/kinematics.py``: the pelvis sits 3% of the height
above the hip line, the thorax 3% above the shoulder line, the head joint
is the top of the head) over SynthMotion's actions; on those motions the
four made-up joints are on average 6 (root), 17 (spine), 20 (thorax) and
3 mm (head) from the true ones in 3D, while the common hand-made mapping
(root = mid-hip, thorax = mid-shoulder, spine = their mean, head =
mid-ear) is 52, 55, 54 and 108 mm off (``tests/ops/test_joint_mapping.py``
measures both).

The map is linear, ``X_h36m = A X_coco`` per coordinate axis with ``A``
(17, 17), so Gaussian keypoint distributions map exactly: a joint
covariance over the 2K coordinates ``(x_0, y_0, x_1, y_1, ...)`` becomes
``(A kron I_2) C (A kron I_2)^T``. A mapped joint's score is the smallest
score of the COCO keypoints it is built from (it is only as sure as its
least sure part).

Note:
    - ``...``: leading axes (frames, people)
    - K: 17 keypoints
"""
from typing import Dict, Tuple

import numpy as np


__all__ = [
    'COCO17_NAMES', 'H36M17_NAMES', 'COCO_TO_H36M_WEIGHTS', 'coco_to_h36m',
    'map_keypoints', 'map_scores', 'map_covariance'
]

#: COCO-17 keypoint names in MMPose's id order.
COCO17_NAMES: Tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')

#: Human3.6M-17 joint names in MMPose's id order.
H36M17_NAMES: Tuple[str, ...] = (
    'root', 'right_hip', 'right_knee', 'right_foot', 'left_hip', 'left_knee',
    'left_foot', 'spine', 'thorax', 'neck_base', 'head', 'left_shoulder',
    'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow',
    'right_wrist')


def _check_trailing(array: np.ndarray, trailing: Tuple[int, ...],
                    name: str) -> None:
    """Raise a ValueError unless ``array`` ends with the axes
    ``trailing``."""
    if array.ndim < len(trailing) or array.shape[-len(trailing):] != trailing:
        raise ValueError(f'{name} must have shape (..., '
                         f'{", ".join(map(str, trailing))}), got '
                         f'{array.shape}')


def _mid(name: str, weight: float) -> Dict[str, float]:
    return {f'left_{name}': weight / 2, f'right_{name}': weight / 2}


def _spec() -> Dict[str, Dict[str, float]]:
    """H36M joint -> {COCO keypoint: weight}."""
    spec = {
        'root': {**_mid('hip', 0.9), **_mid('shoulder', 0.1)},
        'spine': {**_mid('hip', 0.4), **_mid('shoulder', 0.6)},
        'thorax': {**_mid('shoulder', 1.1), **_mid('hip', -0.1)},
        'head': {**_mid('ear', 1.28), **_mid('eye', 0.15),
                 **_mid('shoulder', -0.43)},
        'neck_base': {'nose': 1.0},
        'right_foot': {'right_ankle': 1.0},
        'left_foot': {'left_ankle': 1.0},
    }
    for name in H36M17_NAMES:
        spec.setdefault(name, {name: 1.0})
    return spec


def _weights() -> np.ndarray:
    weights = np.zeros((len(H36M17_NAMES), len(COCO17_NAMES)))
    for name, parts in _spec().items():
        row = H36M17_NAMES.index(name)
        for part, w in parts.items():
            weights[row, COCO17_NAMES.index(part)] = w
    weights.setflags(write=False)
    return weights


#: ``A`` of ``X_h36m = A X_coco``, shape (17, 17); rows sum to 1.
COCO_TO_H36M_WEIGHTS: np.ndarray = _weights()


def map_keypoints(keypoints: np.ndarray,
                  weights: np.ndarray = COCO_TO_H36M_WEIGHTS) -> np.ndarray:
    """Apply a joint map to coordinates.

    Args:
        keypoints (np.ndarray): Source coordinates, shape (..., K_src, C).
        weights (np.ndarray): Map, shape (K_dst, K_src).

    Returns:
        np.ndarray: Shape (..., K_dst, C), float64.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim < 2 or keypoints.shape[-2] != weights.shape[1]:
        raise ValueError(f'keypoints must have shape (..., '
                         f'{weights.shape[1]}, C), got {keypoints.shape}')
    return np.einsum('ds,...sc->...dc', weights, keypoints)


def map_scores(scores: np.ndarray,
               weights: np.ndarray = COCO_TO_H36M_WEIGHTS) -> np.ndarray:
    """Score of each mapped joint: the smallest score among the source
    keypoints with a non-zero weight.

    Args:
        scores (np.ndarray): Source scores, shape (..., K_src).
        weights (np.ndarray): Map, shape (K_dst, K_src).

    Returns:
        np.ndarray: Shape (..., K_dst), float64.
    """
    scores = np.asarray(scores, dtype=np.float64)
    _check_trailing(scores, (weights.shape[1], ), 'scores')
    support = weights != 0  # (K_dst, K_src)
    masked = np.where(support, scores[..., None, :], np.inf)
    return masked.min(axis=-1)


def map_covariance(cov: np.ndarray,
                   weights: np.ndarray = COCO_TO_H36M_WEIGHTS) -> np.ndarray:
    """Map keypoint covariances through a joint map.

    Args:
        cov (np.ndarray): Either per-keypoint covariances, shape
            (..., K_src, 2, 2) (independent keypoints), or a joint
            covariance of the 2K_src coordinates ``(x_0, y_0, ...)``, shape
            (..., 2K_src, 2K_src).

    Returns:
        np.ndarray: The joint covariance of the mapped coordinates, shape
        (..., 2K_dst, 2K_dst), float64 (mapped joints that share a source
        keypoint are correlated, so the result is never per-keypoint).
    """
    cov = np.asarray(cov, dtype=np.float64)
    k_src = weights.shape[1]
    big = np.kron(weights, np.eye(2))  # (2K_dst, 2K_src)
    if cov.shape[-3:] == (k_src, 2, 2):
        # A C A^T with block-diagonal C: sum_s w_ds w_es C_s per block
        blocks = np.einsum('ds,es,...sij->...deij', weights, weights, cov)
        lead = cov.shape[:-3]
        k_dst = weights.shape[0]
        return blocks.transpose(*range(len(lead)), -4, -2, -3,
                                -1).reshape(lead + (2 * k_dst, 2 * k_dst))
    _check_trailing(cov, (2 * k_src, 2 * k_src), 'cov')
    return big @ cov @ big.T


def coco_to_h36m(keypoints: np.ndarray,
                 scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """COCO-17 keypoints and scores -> Human3.6M-17 (see the module).

    Args:
        keypoints (np.ndarray): Shape (..., 17, 2).
        scores (np.ndarray): Shape (..., 17).

    Returns:
        tuple[np.ndarray, np.ndarray]: Keypoints (..., 17, 2) and scores
        (..., 17).
    """
    return map_keypoints(keypoints), map_scores(scores)
