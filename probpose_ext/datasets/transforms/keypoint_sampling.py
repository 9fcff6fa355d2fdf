"""Train a lifter on poses drawn from a probabilistic 2D estimator."""
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...utils.validation import strict_kwargs
from ..keypoint_sources import read_distribution


@TRANSFORMS.register_module()
@strict_kwargs
class SampleKeypoints2D(BaseTransform):
    """Replace a lifting sample's 2D input by a draw from the per-frame
    Gaussians of a distribution file.

    The distribution file (``{source}_dist.npz``,
    :mod:`probpose_ext.datasets.keypoint_sources`) holds for every frame of
    the annotation file a mean (K, 2) and a factor F (2K, 2K) of the
    covariance F F^T over ``(x_0, y_0, x_1, ...)`` in pixels (a TIC head's
    full covariance, or ProbPose's moment-matched maps, mapped to the
    lifter's joints). Each call draws ``mean + F z``, ``z ~ N(0, I)``, for
    each frame of the sample (``results['img_ids']``, the frame rows that
    MMPose's ``Human36mDataset`` stores), so every epoch sees a fresh pose;
    frames are drawn independently. ``scale`` multiplies the standard
    deviations (0 gives the means). Put it first in the train pipeline
    (before flips and ``GenerateTarget``).

    Args:
        dist_file (str): The distribution file.
        scale (float): Factor on the standard deviation, >= 0. Defaults
            to 1.
        prob (float): Probability of sampling a sample (else the file's
            means are used), in [0, 1]. Defaults to 1.
        seed (int, optional): Seed of the transform's own generator (for
            tests); None seeds a fresh generator per call from NumPy's
            global state (which MMEngine seeds), as
            :class:`KeypointGaussianNoise` does.

    Required keys: ``img_ids`` (T, ), ``keypoints`` (T, K, 2) or
    (1, T, K, 2).

    Modified keys: ``keypoints`` (same shape, float32).

    Example:
        >>> dict(type='SampleKeypoints2D',
        ...      dist_file='work_dirs/robustness/sources/tic_train_dist.npz')
    """

    def __init__(self,
                 dist_file: str,
                 scale: float = 1.0,
                 prob: float = 1.0,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        if not scale >= 0:
            raise ValueError(f'scale must be >= 0, got {scale}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.dist_file = dist_file
        self.scale = float(scale)
        self.prob = float(prob)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._dist: Optional[Tuple[np.ndarray, np.ndarray]] = None

    def _distribution(self) -> Tuple[np.ndarray, np.ndarray]:
        if self._dist is None:  # loaded lazily: once per worker process
            self._dist = read_distribution(self.dist_file)
        return self._dist

    def transform(self, results: Dict) -> Dict:
        if 'img_ids' not in results:
            raise KeyError("SampleKeypoints2D needs 'img_ids' (the frame "
                           "rows of MMPose's Human36mDataset samples)")
        mean, factor = self._distribution()
        rows = np.asarray(results['img_ids'], dtype=np.int64).reshape(-1)
        if rows.min() < 0 or rows.max() >= len(mean):
            raise IndexError(f'frame rows {rows.min()}..{rows.max()} are '
                             f'outside {self.dist_file} ({len(mean)} '
                             'frames): is it the file of this split?')
        keypoints = np.asarray(results['keypoints'])
        t, k = mean[rows].shape[:2]
        if keypoints.size != t * k * 2:
            raise ValueError(f'keypoints {keypoints.shape} do not match '
                             f'{t} frames of {k} keypoints of '
                             f'{self.dist_file}')
        draw = mean[rows].astype(np.float64)
        rng = self._rng if self._rng is not None else \
            np.random.default_rng(np.random.randint(0, 2**31 - 1))
        if self.scale > 0 and rng.random() < self.prob:
            z = rng.standard_normal((t, 2 * k, 1))
            noise = (factor[rows].astype(np.float64) @ z).reshape(t, k, 2)
            draw = draw + self.scale * noise
        results['keypoints'] = draw.astype(np.float32).reshape(
            keypoints.shape)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(dist_file={self.dist_file!r}, '
                f'scale={self.scale}, prob={self.prob}, seed={self.seed})')
