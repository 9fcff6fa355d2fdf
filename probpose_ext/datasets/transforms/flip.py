"""Random flip that keeps the raw keypoint visibility aligned."""
import numpy as np
from mmpose.datasets.transforms import RandomFlip
from mmpose.registry import TRANSFORMS

from ...utils.validation import strict_kwargs


@TRANSFORMS.register_module()
@strict_kwargs
class RandomFlipRawVis(RandomFlip):
    """MMPose's :class:`RandomFlip` that also flips
    ``keypoints_visibility_raw``.

    MMPose's flip reorders ``keypoints`` and ``keypoints_visible`` with the
    dataset's ``flip_indices`` (left and right swap) but does not know our
    raw visibility field (DESIGN.md section 3), which would then describe
    the wrong side. Use this transform instead of ``RandomFlip`` in
    pipelines that carry the raw visibility (e.g. with ``RandomCropOut`` or
    the CropCOCO dataset); its arguments are ``RandomFlip``'s.

    Example:
        >>> dict(type='RandomFlipRawVis', direction='horizontal')
    """

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        raw = results.get('keypoints_visibility_raw', None)
        if results.get('flip') and raw is not None:
            results['keypoints_visibility_raw'] = np.take(
                raw, results['flip_indices'], axis=-1)
        return results
