"""Likelihood, interval coverage, ENCE and sparsification (AUSE) of the
predicted depth uncertainty of 3-D pose lifting, next to MPJPE /
P-MPJPE."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.registry import METRICS

from ..ops.depth_uncertainty import (ause, ence, gaussian_nll_1d,
                                     interval_coverage,
                                     trivariate_coverage,
                                     trivariate_gaussian_nll)
from ..utils.validation import check_finite, strict_kwargs

#: ln(1000): NLL of an error in mm = NLL in metres + ln 1000
_LN_1000 = float(np.log(1000.0))


def _squeeze(x: np.ndarray, ndim: int) -> np.ndarray:
    """Drop a leading axis of length 1 from an array with one axis more
    than ``ndim`` (the (1, T, K, ...) layout MMPose's MPJPE accepts)."""
    return np.squeeze(x, axis=0) if x.ndim == ndim + 1 else x


@METRICS.register_module()
@strict_kwargs
class DepthUncertaintyMetric(BaseMetric):
    """Calibration and ranking of the predicted depth uncertainty of 3-D
    pose lifting (:class:`~probpose_ext.models.heads.DepthUncertaintyHead`).

    Reads, per data sample, as MMPose's ``MPJPE``: the predicted
    ``pred_instances.keypoints`` (T, K, 3), the ground truth
    ``gt_instances.lifting_target`` (T, K, 3) and its
    ``lifting_target_visible``; plus ``pred_instances.keypoint_depth_std``
    (T, K) and, when present, ``pred_instances.keypoints_cov3d``
    (T, K, 3, 3). Coordinates are taken in metres (MMPose's Human3.6M
    convention).

    The evaluated quantity is the **root-relative depth error** ``e = (z_j -
    z_root)_pred - (z_j - z_root)_gt`` in metres, over the visible joints of
    the poses whose root is visible, the root joint excluded (its relative
    depth is 0 by construction). Keys:

    * ``depth/NLL``: mean Gaussian NLL of ``e`` under ``N(0,
      std^2)`` with the error in metres (nats); ``depth/NLL_mm`` the same
      with the error in mm (``+ ln 1000``);
    * ``depth/cov68``, ``depth/cov95``: the fraction with ``|e| <= z_p
      std`` (0.68 / 0.95 when calibrated; one key per level);
    * ``depth/ENCE``: the expected normalised calibration error over
      ``num_bins`` equal-count bins of std (unitless);
    * ``depth/AUSE``: the area between the sparsification curves (normalised
      MAE of the remaining joints, removing by std vs by ``|e|``; unitless);
    * ``depth/MAE_mm``, ``depth/RMSE_mm``, ``depth/mean_std_mm``: mean
      ``|e|``, root mean square ``e`` and mean predicted std, mm;
    * ``pose/MPJPE_mm``, ``pose/P-MPJPE_mm``: MMPose's
      ``keypoint_mpjpe`` (no alignment / Procrustes) over the visible
      joints, mm;
    * with ``keypoints_cov3d`` in every prediction: ``cov3d/NLL`` (nats,
      metres), ``cov3d/cov68``, ``cov3d/cov95`` (fraction of the
      root-relative 3-D errors inside the level-p ellipsoid, chi-square with
      3 degrees of freedom).

    Note:
        - T: poses (instances) per data sample
        - K: number of joints

    Args:
        root_index (int): The root joint. Defaults to 0 (Human3.6M pelvis).
        levels (Sequence[float]): Interval levels. Defaults to (0.68, 0.95).
        num_bins (int): ENCE bins. Defaults to 10.
        num_fractions (int): AUSE steps. Defaults to 20.
        collect_device (str): As in :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric prefix (the keys already carry
            ``depth/``, ``cov3d/``, ``pose/``). Defaults to None: none.
    """

    #: no prefix by default: the keys carry their group
    default_prefix = ''

    def __init__(self,
                 root_index: int = 0,
                 levels: Sequence[float] = (0.68, 0.95),
                 num_bins: int = 10,
                 num_fractions: int = 20,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        levels = tuple(float(p) for p in levels)
        if not levels or not all(0.0 < p < 1.0 for p in levels):
            raise ValueError(f'levels must be in (0, 1), got {levels}')
        if int(num_bins) < 1 or int(num_fractions) < 1:
            raise ValueError('num_bins and num_fractions must be >= 1, got '
                             f'{num_bins}, {num_fractions}')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.root_index = int(root_index)
        self.levels = levels
        self.num_bins = int(num_bins)
        self.num_fractions = int(num_fractions)

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            where = ('DepthUncertaintyMetric: sample '
                     f'{sample.get("target_img_path", "?")}')
            if 'keypoint_depth_std' not in pred:
                raise KeyError('DepthUncertaintyMetric needs '
                               'pred_instances.keypoint_depth_std (T, K), '
                               f'metres ({where})')
            coords = _squeeze(check_finite(
                pred['keypoints'], 'pred_instances.keypoints', where), 3)
            std = _squeeze(check_finite(
                pred['keypoint_depth_std'],
                'pred_instances.keypoint_depth_std', where), 2)
            cov = None
            if 'keypoints_cov3d' in pred:
                cov = _squeeze(check_finite(
                    pred['keypoints_cov3d'], 'pred_instances.keypoints_cov3d',
                    where), 4)
            gt = sample['gt_instances']
            gt_coords = np.asarray(gt['lifting_target'], dtype=np.float64)
            mask = np.asarray(gt['lifting_target_visible']).astype(
                bool).reshape(gt_coords.shape[0], -1)
            shape = gt_coords.shape[:2]
            if coords.shape != gt_coords.shape or std.shape != shape or \
                    (cov is not None and cov.shape != shape + (3, 3)):
                raise ValueError(
                    f'{where}: keypoints {coords.shape}, keypoint_depth_std '
                    f'{std.shape}, keypoints_cov3d '
                    f'{None if cov is None else cov.shape} and lifting_target'
                    f' {gt_coords.shape} do not match')
            if not 0 <= self.root_index < shape[1]:
                raise ValueError(f'{where}: root_index {self.root_index} is '
                                 f'not a joint of {shape[1]}')
            self.results.append(
                dict(pred=coords, gt=gt_coords, mask=mask, std=std, cov=cov))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('DepthUncertaintyMetric got no predictions')
        pred, gt, mask, std = (np.concatenate([r[key] for r in results])
                               for key in ('pred', 'gt', 'mask', 'std'))
        root = self.root_index
        metrics = {
            'pose/MPJPE_mm': 1000.0 * float(
                keypoint_mpjpe(pred, gt, mask, 'none')),
            'pose/P-MPJPE_mm': 1000.0 * float(
                keypoint_mpjpe(pred, gt, mask, 'procrustes')),
        }
        # root-relative errors of the visible non-root joints of poses with a
        # visible root
        residual = (pred - pred[:, root:root + 1]) - (gt -
                                                      gt[:, root:root + 1])
        used = mask & mask[:, root:root + 1]
        used[:, root] = False
        err, sigma = residual[..., 2][used], std[used]
        if (sigma <= 0).any():
            raise ValueError(
                'DepthUncertaintyMetric: keypoint_depth_std must be > 0 at '
                f'the evaluated joints, {int((sigma <= 0).sum())} are not')
        nll = float(gaussian_nll_1d(0.0, 2.0 * np.log(sigma), err).mean()) \
            if err.size else np.nan
        metrics['depth/NLL'] = nll
        metrics['depth/NLL_mm'] = nll + _LN_1000
        for level, cover in zip(self.levels, interval_coverage(
                err, sigma, self.levels)):
            metrics[f'depth/cov{round(100 * level)}'] = float(cover)
        metrics['depth/ENCE'] = ence(err, sigma, self.num_bins)
        metrics['depth/AUSE'] = ause(err, sigma, self.num_fractions)
        metrics['depth/MAE_mm'] = 1000.0 * float(np.abs(err).mean()) \
            if err.size else np.nan
        metrics['depth/RMSE_mm'] = 1000.0 * float(np.sqrt(np.mean(
            err**2))) if err.size else np.nan
        metrics['depth/mean_std_mm'] = 1000.0 * float(sigma.mean()) \
            if err.size else np.nan
        if all(r['cov'] is not None for r in results):
            cov = np.concatenate([r['cov'] for r in results])[used]
            res3 = residual[used]
            if res3.size:
                chol = np.linalg.cholesky(cov)
                metrics['cov3d/NLL'] = float(
                    trivariate_gaussian_nll(np.zeros_like(res3), chol,
                                            res3).mean())
            else:
                metrics['cov3d/NLL'] = np.nan
            for level, cover in zip(self.levels, trivariate_coverage(
                    res3, cov, self.levels)):
                metrics[f'cov3d/cov{round(100 * level)}'] = float(cover)
        return metrics
