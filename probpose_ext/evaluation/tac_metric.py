"""TAC, Gaussian NLL and ellipse coverage of predicted keypoint covariances
(TIC-TAC, Shukla et al., ICML 2024; DESIGN.md section 4 item 8)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS

from ..ops.covariance import (block_diagonal_covariance, covariance_blocks,
                              ellipse_radius, gaussian_nll,
                              marginal_mahalanobis_sq, tac)
from ..utils.validation import check_finite, strict_kwargs

#: prediction fields read, in order of preference: the joint (2K, 2K)
#: covariance, else the per-keypoint (K, 2, 2) ones as a block diagonal
COV_FIELDS = ('keypoints_cov_full', 'keypoints_cov')


@METRICS.register_module()
@strict_kwargs
class TACMetric(BaseMetric):
    """Task Agnostic Correlations and likelihood of predicted covariances.

    For each instance with predicted keypoints ``yhat`` (K, 2) and a joint
    covariance ``Sigma`` (2K, 2K) in image pixels
    (``pred_instances.keypoints_cov_full``; or the per-keypoint
    ``keypoints_cov`` (K, 2, 2) taken as a block diagonal, e.g. ProbPose
    maps' moments), against the ground truth ``y`` of the annotated joints
    (``gt_instances.keypoints_visible > 0``, the present joints):

    Keys (under the prefix ``tac/``):

    * ``mean``: the mean over present joints of
      ``|| y_j - (yhat_j + Sigma_{j,rest} Sigma_{rest,rest}^-1 (y_rest -
      yhat_rest)) ||`` (pixels), rest = the other present joints
      (:func:`probpose_ext.ops.covariance.tac`); ``<keypoint name>`` per
      joint; ``l2``: the plain error ``|| y_j - yhat_j ||`` for comparison
      (TAC is below it when the covariance carries real correlations);
    * ``nll``: the Gaussian negative log-likelihood of the present joints'
      residual, per instance, averaged
      (:func:`probpose_ext.ops.covariance.gaussian_nll`);
    * ``coverage@68``, ``coverage@95``: the share of present GT keypoints
      inside the 68% / 95% ellipse of their 2x2 marginal (squared
      Mahalanobis distance at most ``-2 ln(1 - p)``), which is 0.68 / 0.95
      for a calibrated Gaussian.

    Args:
        levels (Sequence[float]): Ellipse probability levels. Defaults to
            (0.68, 0.95).
        collect_device (str): As in :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric prefix. Defaults to ``'tac'``.
    """

    default_prefix = 'tac'

    def __init__(self,
                 levels: Sequence[float] = (0.68, 0.95),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        levels = tuple(float(p) for p in levels)
        if not all(0.0 < p < 1.0 for p in levels):
            raise ValueError(f'levels must be in (0, 1), got {levels}')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.levels = levels

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            where = f'TACMetric: image id {sample.get("img_id")}'
            field = next((f for f in COV_FIELDS if f in pred), None)
            if field is None:
                raise KeyError(
                    'TACMetric needs pred_instances.keypoints_cov_full (N, '
                    '2K, 2K) or keypoints_cov (N, K, 2, 2) in image pixels '
                    f'({where})')
            cov = check_finite(np.asarray(pred[field], dtype=np.float64),
                               f'pred_instances.{field}', where)
            if field == 'keypoints_cov':
                cov = block_diagonal_covariance(cov)
            keypoints = np.asarray(pred['keypoints'], dtype=np.float64)
            gt = sample['gt_instances']
            gt_kpts = np.asarray(gt['keypoints'], dtype=np.float64)
            present = np.asarray(gt['keypoints_visible']).reshape(
                gt_kpts.shape[:2]) > 0
            if keypoints.shape != gt_kpts.shape or \
                    cov.shape != keypoints.shape[:1] + (2 * keypoints.shape[1],
                                                        ) * 2:
                raise ValueError(
                    f'{where}: keypoints {keypoints.shape}, {field} '
                    f'{cov.shape} and GT {gt_kpts.shape} do not match')
            self.results.append((keypoints, cov, gt_kpts, present))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        if not results:
            raise ValueError('TACMetric got no predictions')
        pred, cov, gt, present = (np.concatenate([r[i] for r in results])
                                  for i in range(4))
        n, k = present.shape
        t = {
            name: torch.from_numpy(value)
            for name, value in dict(pred=pred.reshape(n, 2 * k), cov=cov,
                                    gt=gt.reshape(n, 2 * k),
                                    mask=present).items()
        }
        errors = tac(t['pred'], t['cov'], t['gt'], t['mask']).numpy()
        keep = present.any(axis=1)
        nll = gaussian_nll(t['gt'][keep] - t['pred'][keep], t['cov'][keep],
                           t['mask'][keep]).numpy()
        metrics = dict(
            mean=float(errors[present].mean()) if present.any() else np.nan,
            l2=float(np.linalg.norm(gt - pred, axis=-1)[present].mean())
            if present.any() else np.nan,
            nll=float(nll.mean()) if nll.size else np.nan)
        names = self.dataset_meta.get('keypoint_id2name', {}) \
            if self.dataset_meta else {}
        for j in range(k):
            if present[:, j].any():
                metrics[str(names.get(j, j))] = float(
                    errors[present[:, j], j].mean())
        # squared Mahalanobis distance of each present GT keypoint under its
        # 2x2 marginal
        d2 = marginal_mahalanobis_sq(gt - pred, covariance_blocks(cov))
        for level in self.levels:
            inside = d2[present] <= ellipse_radius(level=level)**2
            metrics[f'coverage@{round(100 * level)}'] = float(
                inside.mean()) if inside.size else np.nan
        return metrics

