# Copyright (c) probpose_ext contributors. All rights reserved.
"""Gaussian noise on the 2D input keypoints of 2D-to-3D lifting: i.i.d.
(:class:`KeypointGaussianNoise`) or correlated over the frames (Temporal
Additive Gaussian Noise, TAGN, :class:`TemporalGaussianNoise`)."""
from numbers import Number
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...ops.temporal import temporally_correlated_noise
from ...utils.validation import strict_kwargs

Range = Union[float, Sequence[float]]

#: Units of ``std``.
UNITS = ('normalized', 'pixel')


def _as_range(value: Range, name: str) -> Tuple[float, float]:
    """A number ``v`` -> ``(v, v)``; a pair ``(low, high)`` with
    ``0 <= low <= high`` -> itself."""
    if isinstance(value, Number) and not isinstance(value, bool):
        value = (value, value)
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'`{name}` must be a number or a pair (low, high), '
                         f'got {value!r}') from None
    if not 0.0 <= low <= high:
        raise ValueError(f'`{name}` must satisfy 0 <= low <= high, got '
                         f'{value!r}')
    return low, high


class BaseKeypointNoise(BaseTransform):
    """Add zero-mean Gaussian noise to the 2D input ``results['keypoints']``
    of a lifting pipeline; subclasses choose the temporal correlation.

    With probability ``prob`` a standard deviation is drawn uniformly from
    ``std`` (a number is a fixed value), converted to pixels and the noise
    is added to the x and y of every keypoint of every frame (keypoints with
    visibility 0 are left untouched when ``skip_invisible``). Put the
    transform before ``GenerateTarget``, which normalises the keypoints.

    Args:
        std (float | Sequence[float]): Standard deviation of the noise, or a
            ``(low, high)`` range sampled uniformly per sample, in ``unit``.
        unit (str): ``'normalized'``: in the ``VideoPoseLifting`` codec's
            normalised coordinates, ``(pixel - (w/2, h/2)) / (w/2)``, so the
            noise in pixels has std ``std * w / 2`` with ``w`` from
            ``results['camera_param']['w']``; ``'pixel'``: in pixels.
            Defaults to ``'normalized'``.
        prob (float): Probability of adding noise to a sample, in
            ``[0, 1]``. Defaults to 1.
        skip_invisible (bool): Leave keypoints whose
            ``keypoints_visible`` is 0 unchanged. Defaults to True.
        seed (int, optional): Seed of the transform's own random generator
            (reproducible sequences of draws, for tests); None draws from
            NumPy's global state like MMPose's transforms (seeded per worker
            by MMEngine). Defaults to None.

    Note:
        - T: number of frames
        - K: number of keypoints
        - C: coordinates per keypoint (2)

        ``results['keypoints']`` of MMPose's mocap datasets
        (``BaseMocapDataset``, ``Human36mDataset``) has shape (T, K, 2),
        ``keypoints_visible`` (T, K); any shape (..., T, K, C >= 2) is
        accepted, with time on axis -3 (a (K, C) array is one frame), and
        only the first two coordinates get noise. The keypoints keep their
        dtype.

    Required Keys:

        - keypoints
        - keypoints_visible (optional)
        - camera_param (with ``unit='normalized'``)

    Modified Keys:

        - keypoints
    """

    def __init__(self,
                 std: Range = 0.01,
                 unit: str = 'normalized',
                 prob: float = 1.0,
                 skip_invisible: bool = True,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        self.std = _as_range(std, 'std')
        if unit not in UNITS:
            raise ValueError(f'`unit` must be one of {UNITS}, got {unit!r}')
        if not isinstance(prob, Number) or isinstance(prob, bool) \
                or not 0.0 <= float(prob) <= 1.0:
            raise ValueError(
                f'`prob` must be a number in [0, 1], got {prob!r}')
        self.unit = unit
        self.prob = float(prob)
        self.skip_invisible = bool(skip_invisible)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _generator(self) -> np.random.Generator:
        """The transform's generator, or a fresh one seeded from NumPy's
        global state."""
        if self._rng is not None:
            return self._rng
        return np.random.default_rng(np.random.randint(0, 2**31 - 1))

    def _noise(self, rng: np.random.Generator, shape: Tuple[int, int, int],
               std: float) -> np.ndarray:
        """Noise of the given std (pixels).

        Args:
            rng (np.random.Generator): Randomness.
            shape (tuple[int, int, int]): (T, N, 2), time first.
            std (float): Standard deviation in pixels.

        Returns:
            np.ndarray: Noise, shape ``shape``.
        """
        raise NotImplementedError

    def _pixel_std(self, std: float, results: Dict) -> float:
        if self.unit == 'pixel':
            return std
        camera = results.get('camera_param')
        if not isinstance(camera, dict) or 'w' not in camera:
            raise KeyError(
                f"{type(self).__name__}(unit='normalized') needs the image "
                "width results['camera_param']['w'] (the dataset's "
                "camera_param_file); use unit='pixel' without cameras")
        return std * float(camera['w']) / 2.0

    def transform(self, results: Dict) -> Dict:
        """Add the noise.

        Args:
            results (dict): Result dict with ``keypoints`` (..., T, K, C),
                optionally ``keypoints_visible`` (..., T, K) and
                ``camera_param``.

        Returns:
            dict: The result dict with noisy ``keypoints``.
        """
        rng = self._generator()
        if self.prob < 1.0 and rng.random() >= self.prob:
            return results
        low, high = self.std
        std = low if low == high else float(rng.uniform(low, high))
        std = self._pixel_std(std, results)

        kpts = np.asarray(results['keypoints'])
        if kpts.ndim < 2 or kpts.shape[-1] < 2:
            raise ValueError('keypoints must have shape (..., T, K, C >= 2), '
                             f'got {kpts.shape}')
        seq = kpts[None] if kpts.ndim == 2 else kpts  # (..., T, K, C)
        lead, (frames, num_kpts) = seq.shape[:-3], seq.shape[-3:-1]
        count = int(np.prod(lead, dtype=np.int64))
        noise = self._noise(rng, (frames, count * num_kpts, 2), std)
        noise = noise.reshape(frames, count, num_kpts, 2).transpose(
            1, 0, 2, 3).reshape(*lead, frames, num_kpts, 2)
        if kpts.ndim == 2:
            noise = noise[0]
        if self.skip_invisible and results.get('keypoints_visible') \
                is not None:
            vis = np.asarray(results['keypoints_visible'])
            if vis.ndim == kpts.ndim:  # (..., K, 2): value and weight
                vis = vis[..., 0]
            noise = noise * (vis.reshape(kpts.shape[:-1]) > 0)[..., None]
        out = kpts.astype(np.float64, copy=True)
        out[..., :2] += noise
        results['keypoints'] = out.astype(kpts.dtype) \
            if np.issubdtype(kpts.dtype, np.floating) else out
        return results

    def __repr__(self) -> str:
        """Print the parameters of the transform.

        Returns:
            str: Formatted string.
        """
        return (f'{self.__class__.__name__}(std={self.std}, '
                f"unit='{self.unit}', prob={self.prob}, "
                f'skip_invisible={self.skip_invisible}, seed={self.seed}'
                f'{self._extra_repr()})')

    def _extra_repr(self) -> str:
        return ''


@TRANSFORMS.register_module()
@strict_kwargs
class KeypointGaussianNoise(BaseKeypointNoise):
    """I.i.d. Gaussian noise on the 2D input keypoints of a lifting
    pipeline: independent for every coordinate, keypoint and frame.

    The seed report's augmentation is ``std=(0.001, 0.02)`` in normalised
    coordinates. See :class:`BaseKeypointNoise` for the arguments.
    """

    def _noise(self, rng: np.random.Generator, shape: Tuple[int, int, int],
               std: float) -> np.ndarray:
        return temporally_correlated_noise(rng, shape, std, 0.0)


@TRANSFORMS.register_module()
@strict_kwargs
class TemporalGaussianNoise(BaseKeypointNoise):
    """Temporal Additive Gaussian Noise (TAGN, Hoang et al. 2024) on the 2D
    input keypoints of a lifting pipeline.

    Each coordinate of each keypoint gets an independent stationary
    Gaussian AR(1) series over the frames with marginal std ``std`` and
    autocorrelation ``exp(-|lag| / corr_len)``
    (:func:`probpose_ext.ops.temporal.temporally_correlated_noise`), so
    the perturbation drifts smoothly, like a 2D detector's errors.

    Args:
        corr_len (float | Sequence[float]): Correlation length in frames,
            ``>= 0`` (0: i.i.d.), or a ``(low, high)`` range sampled
            uniformly per sample. Defaults to 5.
        **kwargs: ``std``, ``unit``, ``prob``, ``skip_invisible``, ``seed``
            of :class:`BaseKeypointNoise`.
    """

    def __init__(self, corr_len: Range = 5.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.corr_len = _as_range(corr_len, 'corr_len')

    def _noise(self, rng: np.random.Generator, shape: Tuple[int, int, int],
               std: float) -> np.ndarray:
        low, high = self.corr_len
        corr_len = low if low == high else float(rng.uniform(low, high))
        return temporally_correlated_noise(rng, shape, std, corr_len)

    def _extra_repr(self) -> str:
        return f', corr_len={self.corr_len}'
