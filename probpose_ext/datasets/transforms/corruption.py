# Copyright (c) probpose_ext contributors. All rights reserved.
"""Test-time image corruption of a robustness benchmark (PoseBench-style
image corruptions and Human3.6M-C-style video corruptions)."""
import zlib
from numbers import Integral
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...ops.image_corruptions import (IMAGE_CORRUPTIONS, MAX_SEVERITY,
                                      VIDEO_CORRUPTIONS, corrupt_image,
                                      corruption_rng, parse_video_frame,
                                      video_corruption)
from ...utils.validation import strict_kwargs

#: Levels of :class:`ImageCorruption`.
LEVELS = ('image', 'video')


@TRANSFORMS.register_module()
@strict_kwargs
class ImageCorruption(BaseTransform):
    """Corrupt ``results['img']`` with a fixed corruption and severity,
    reproducibly per image (or per video frame).

    Put it right after ``LoadImage`` in a top-down test pipeline, e.g.
    ``dict(type='ImageCorruption', corruption='jpeg', severity=3)``.

    - ``level='image'``: :func:`~probpose_ext.ops.image_corruptions.
      corrupt_image` with the generator ``corruption_rng(seed, key)``, where
      ``key`` is ``results['img_id']`` when present (an int in
      ``[0, 2**32)`` as it is, other values through the CRC-32 of their
      string) and else ``zlib.crc32`` of ``results['img_path']`` (0 without
      either). Every instance of an image thus sees the same noise; only
      ``mask`` differs per instance, being placed over that instance's bbox.
    - ``level='video'``: :func:`~probpose_ext.ops.image_corruptions.
      video_corruption` with ``(video_key, frame_index) =
      parse_video_frame(results['img_path'])``, so the corruption is
      consistent over the frames of a video (Human3.6M-style frame names).

    ``results['bbox']`` (MMPose's (N, 4) xyxy; the first row is used) is
    passed when present; it places ``mask`` and ``occlusion``. Severity 0
    leaves the results unchanged.

    Required Keys:

        - img
        - img_id (optional, ``level='image'``)
        - img_path (``level='video'``; ``level='image'`` without img_id)
        - bbox (optional)

    Modified Keys:

        - img

    Args:
        corruption (str): Corruption name: a key of
            :data:`~probpose_ext.ops.image_corruptions.IMAGE_CORRUPTIONS`
            for ``level='image'``, one of
            :data:`~probpose_ext.ops.image_corruptions.VIDEO_CORRUPTIONS`
            for ``level='video'``.
        severity (int): 0..5.
        seed (int): Base seed in ``[0, 2**32)``. Defaults to 0.
        level (str): ``'image'`` or ``'video'``. Defaults to ``'image'``.
    """

    def __init__(self,
                 corruption: str,
                 severity: int,
                 seed: int = 0,
                 level: str = 'image') -> None:
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f'`level` must be one of {LEVELS}, got '
                             f'{level!r}')
        choices = tuple(IMAGE_CORRUPTIONS) if level == 'image' \
            else VIDEO_CORRUPTIONS
        if not isinstance(corruption, str) or corruption not in choices:
            raise ValueError(f'unknown {level} corruption {corruption!r}; '
                             f'choose one of {", ".join(choices)}')
        if isinstance(severity, bool) or not isinstance(severity, Integral) \
                or not 0 <= int(severity) <= MAX_SEVERITY:
            raise ValueError(f'`severity` must be an int in 0..{MAX_SEVERITY}'
                             f', got {severity!r}')
        corruption_rng(seed)  # checks the seed
        self.corruption = corruption
        self.severity = int(severity)
        self.seed = int(seed)
        self.level = level

    @staticmethod
    def image_key(results: Dict) -> int:
        """Per-image key: ``img_id`` (ints in ``[0, 2**32)`` as they are,
        others via the CRC-32 of their string), else the CRC-32 of
        ``img_path``, else 0.

        Args:
            results (dict): Result dict.

        Returns:
            int: Key in ``[0, 2**32)``.
        """
        img_id = results.get('img_id')
        if img_id is not None:
            if isinstance(img_id, Integral) and not isinstance(img_id, bool) \
                    and 0 <= int(img_id) < 2**32:
                return int(img_id)
            return zlib.crc32(str(img_id).encode('utf-8'))
        img_path = results.get('img_path')
        if img_path is None:
            return 0
        return zlib.crc32(str(img_path).encode('utf-8'))

    @staticmethod
    def _bbox(results: Dict) -> Optional[np.ndarray]:
        bbox = results.get('bbox')
        if bbox is None:
            return None
        bbox = np.asarray(bbox, dtype=np.float64)
        if bbox.ndim == 2:
            if bbox.shape[0] == 0:
                return None
            bbox = bbox[0]
        return bbox

    def transform(self, results: Dict) -> Dict:
        """Corrupt the image.

        Args:
            results (dict): Result dict with ``img`` (H, W, 3) uint8 BGR and
                the keys listed in the class docstring.

        Returns:
            dict: The result dict with the corrupted ``img``.
        """
        if self.severity == 0:
            return results
        bbox = self._bbox(results)
        if self.level == 'image':
            rng = corruption_rng(self.seed, self.image_key(results))
            results['img'] = corrupt_image(results['img'], self.corruption,
                                           self.severity, rng, bbox=bbox)
        else:
            if results.get('img_path') is None:
                raise KeyError("level='video' needs results['img_path']")
            video_key, frame = parse_video_frame(results['img_path'])
            results['img'] = video_corruption(
                results['img'], self.corruption, self.severity, video_key,
                frame, seed=self.seed, bbox=bbox)
        return results

    def __repr__(self) -> str:
        """Print the parameters of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(corruption={self.corruption!r}, '
        repr_str += f'severity={self.severity}, '
        repr_str += f'seed={self.seed}, '
        repr_str += f'level={self.level!r})'
        return repr_str
