"""In/out classification accuracy of the predicted presence probability."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS

from ..ops.windows import in_window
from ..utils.validation import check_finite, strict_kwargs


def keypoints_in_window(keypoints: np.ndarray, center: np.ndarray,
                        scale: np.ndarray) -> np.ndarray:
    """Whether keypoints lie inside the activation window.

    Args:
        keypoints (np.ndarray): (N, K, 2) image coordinates.
        center (np.ndarray): Window centre (2, ) in image pixels.
        scale (np.ndarray): Window size ``(w, h)`` (2, ) in image pixels.

    Returns:
        np.ndarray: (N, K) bool.
    """
    half = 0.5 * np.asarray(scale, dtype=np.float64)
    centre = np.asarray(center, dtype=np.float64)
    return in_window(keypoints, np.concatenate([centre - half,
                                                centre + half]))


@METRICS.register_module()
@strict_kwargs
class PresenceAccuracy(BaseMetric):
    """Accuracy of the presence probability as an in/out classifier.

    The ground truth is whether an annotated keypoint lies inside the
    activation window: at evaluation the GT bbox fixed to the model aspect
    ratio and scaled by the padding, i.e. the top-down crop
    (``input_center``, ``input_scale``) of the data sample (DESIGN.md
    section 3). A keypoint is predicted present when
    ``pred_instances.keypoint_presence >= thr``. Reports the accuracy, the
    balanced accuracy (mean recall of the two classes, defined when both
    occur) and the share of GT keypoints outside the window. NaN / Inf
    presence raises a ``ValueError`` naming the image id.

    Args:
        thr (float): Presence threshold. Defaults to 0.5.
        collect_device (str): As in :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric prefix. Defaults to ``'presence'``.
    """

    default_prefix = 'presence'

    def __init__(self,
                 thr: float = 0.5,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if not 0.0 <= thr <= 1.0:
            raise ValueError(f'thr must be in [0, 1], got {thr}')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = thr

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            if 'keypoint_presence' not in pred:
                raise KeyError(
                    'PresenceAccuracy needs pred_instances.keypoint_presence'
                    ' (predicted by ProbMapHead).')
            gt = sample['gt_instances']
            annotated = np.asarray(gt['keypoints_visible']) > 0
            inside = keypoints_in_window(
                np.asarray(gt['keypoints']), sample['input_center'],
                sample['input_scale'])
            presence = check_finite(
                pred['keypoint_presence'], 'pred_instances.keypoint_presence',
                f'PresenceAccuracy: image id {sample.get("img_id")}')
            present = presence >= self.thr
            self.results.append(
                (inside[annotated], present.reshape(inside.shape)[annotated]))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        if not results:
            raise ValueError('PresenceAccuracy got no predictions')
        inside = np.concatenate([r[0] for r in results])
        present = np.concatenate([r[1] for r in results])
        correct = inside == present
        metrics = dict(
            acc=float(correct.mean()) if correct.size else float('nan'),
            out_ratio=float((~inside).mean()) if inside.size else float('nan'))
        if inside.any() and (~inside).any():
            metrics['balanced_acc'] = float(
                0.5 * (correct[inside].mean() + correct[~inside].mean()))
        return metrics
