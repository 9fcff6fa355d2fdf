"""Continuous per-joint weights of lifting targets (pseudo-labels)."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...utils.validation import strict_kwargs


@TRANSFORMS.register_module()
@strict_kwargs
class SoftLiftingTargetWeight(BaseTransform):
    """Use the target frame's ``lifting_target_visible`` as a continuous
    ``lifting_target_weight``.

    MMPose's lifting codecs binarise the 3D visibility (the fourth column of
    ``S`` in a Human3.6M annotation file) into the target weight (``> 0.5``
    gives 1). Pseudo-labelled annotation files (teacher pseudo-labels,
    :mod:`probpose_ext.analysis.pseudo_labels`) store the teacher's
    per-joint confidence in that column; put this transform after
    ``GenerateTarget`` so that the losses (``MPJPELoss`` and
    ``DepthGaussianNLLLoss`` with ``use_target_weight``) weight each joint
    by it. Visibilities of ground-truth files are 1, so the transform
    leaves them unchanged.

    Required keys: ``lifting_target_visible`` (1, K) or (K, ),
    ``lifting_target_weight`` (from the codec).

    Modified keys: ``lifting_target_weight``.

    Example:
        >>> dict(type='SoftLiftingTargetWeight')
    """

    def transform(self, results: dict) -> dict:
        for key in ('lifting_target_visible', 'lifting_target_weight'):
            if key not in results:
                raise KeyError(f'SoftLiftingTargetWeight needs {key!r}: put '
                               'it after GenerateTarget with a lifting '
                               'codec')
        visible = np.asarray(results['lifting_target_visible'],
                             dtype=np.float32)
        weight = np.asarray(results['lifting_target_weight'])
        if visible.size != weight.size:
            raise ValueError(
                f'lifting_target_visible has {visible.size} values but '
                f'lifting_target_weight {weight.size} (a codec with '
                'remove_root=True drops the root from the weights: use '
                'remove_root=False)')
        results['lifting_target_weight'] = np.clip(
            visible.reshape(weight.shape), 0.0, 1.0).astype(np.float32)
        return results
