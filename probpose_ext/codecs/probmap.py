"""ProbMap: targets and expected-OKS decoding of ProbPose probability maps.

Encoding (per top-down sample, keypoints already in input-crop pixels after
``TopdownAffine``) produces the labels the ProbPose head trains on; the map
itself has no dense target: the OKS-risk loss
(:class:`~probpose_ext.models.OKSRiskLoss`) builds it from the ground-truth
location and the keypoint's OKS variance. Decoding is expected-OKS decoding
(DESIGN.md 4.4): ``E[OKS] = P * G_k`` (exact separable convolution with the
keypoint's peak-1 Gaussian OKS kernel), arg-max, one Newton step per axis,
and the UDP mapping back to input pixels, vectorised over batch and
keypoints. ``decision='coco_ap'`` decides with the narrower kernel matched
to AP's OKS thresholds (:func:`~probpose_ext.ops.ap_kernel_variance_ratio`)
and still scores the decision by its expected OKS.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from torch import Tensor

from ..utils.metainfo import load_metainfo
from ..ops.double_map import heatmap_affine, heatmap_to_input, wide_variance
from ..ops.oks import (ap_kernel_variance_ratio, decode_expected_oks,
                       expected_oks_at, oks_variance_authors,
                       oks_variance_instance, oks_variance_nominal)

KERNELS = ('instance', 'authors')
DECISIONS = ('expected_oks', 'coco_ap')


def _load_sigmas(sigmas: Optional[Sequence[float]],
                 metainfo: Optional[dict]) -> np.ndarray:
    if sigmas is not None:
        return np.asarray(sigmas, dtype=np.float32)
    return np.asarray(load_metainfo(metainfo)['sigmas'], dtype=np.float32)


@KEYPOINT_CODECS.register_module()
class ProbMap(BaseKeypointCodec):
    """Codec of ProbPose probability maps (expected-OKS decoding).

    Note:
        - instance number: N
        - keypoint number: K
        - keypoint dimension: D (2)
        - input image size: [w, h]
        - heatmap size: [W, H]

    Encoded items (all packed into ``gt_instance_labels``):

        - keypoint_labels (np.ndarray): ground truth in heatmap pixels (UDP:
          ``x_hm = x_in * (W - 1) / (w - 1)``), shape (N, K, 2)
        - oks_variance (np.ndarray): each keypoint's OKS variance in heatmap
          pixels^2 (see ``kernel``), shape (N, K)
        - keypoint_weights (np.ndarray): 1 where the probability map trains:
          annotated and inside the activation window, shape (N, K)
        - keypoints_in_window (np.ndarray): presence label, 1 if the keypoint
          lies inside the activation window ``[0, w-1] x [0, h-1]`` of input
          pixels, shape (N, K)
        - presence_weights (np.ndarray): 1 for annotated keypoints, (N, K)
        - visibility_labels (np.ndarray): 1 where the raw visibility is 2
          (visible), shape (N, K)
        - visibility_weights (np.ndarray): 1 for annotated keypoints whose
          raw visibility is known (``keypoints_visibility_raw`` given),
          shape (N, K)

    Args:
        input_size (tuple): Input image size ``(w, h)``.
        heatmap_size (tuple): Probability map size ``(W, H)``.
        kernel (str): OKS kernel scale. ``'instance'`` (default): the
            instance's true OKS variance at heatmap resolution for training,
            the nominal instance of the activation window for decoding
            (DESIGN.md 4.2/4.4). ``'authors'``: the authors' fixed clipped
            variance, the same for every instance.
        padding (float): Activation-window padding of the top-down crop
            (bbox = window / padding), used for the nominal instance.
            Defaults to 1.25.
        decision (str): ``'expected_oks'`` (default, the paper's): the
            location maximising the expected OKS under the map.
            ``'coco_ap'``: the location maximising the expected share of
            COCO AP's OKS thresholds (0.5:0.95) passed, with the Gaussian
            kernel of matched second moment, 0.232 times the OKS variance
            (:func:`~probpose_ext.ops.ap_kernel_variance_ratio`); the
            expected OKS kernel also counts thresholds below 0.5, which AP
            does not, and so favours the centre of the mass over the mode.
            Both report the decision's expected OKS as its score.
        sigmas (Sequence[float], optional): Per-keypoint OKS sigmas. By
            default read from ``metainfo``.
        metainfo (dict, optional): MMPose dataset metainfo spec to read the
            sigmas from. Defaults to MMPose's COCO metainfo.

    Example:
        >>> codec = dict(type='ProbMap', input_size=(192, 256),
        ...              heatmap_size=(48, 64), kernel='instance')
    """

    auxiliary_encode_keys = {'area', 'bbox_scale', 'keypoints_visibility_raw'}
    label_mapping_table = dict(
        keypoint_labels='keypoint_labels',
        oks_variance='oks_variance',
        keypoint_weights='keypoint_weights',
        keypoints_in_window='keypoints_in_window',
        presence_weights='presence_weights',
        visibility_labels='visibility_labels',
        visibility_weights='visibility_weights',
    )

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 kernel: str = 'instance',
                 padding: float = 1.25,
                 decision: str = 'expected_oks',
                 sigmas: Optional[Sequence[float]] = None,
                 metainfo: Optional[dict] = None) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f'kernel must be one of {KERNELS}, got '
                             f'{kernel!r}')
        if decision not in DECISIONS:
            raise ValueError(f'decision must be one of {DECISIONS}, got '
                             f'{decision!r}')
        self.decision = decision
        for name, size in (('input_size', input_size),
                           ('heatmap_size', heatmap_size)):
            if len(size) != 2 or min(size) < 2:
                raise ValueError(f'{name} must be (width, height) with both '
                                 f'>= 2, got {size}')
        if padding < 1:
            raise ValueError(f'padding must be >= 1, got {padding}')
        self.input_size = tuple(int(v) for v in input_size)
        self.heatmap_size = tuple(int(v) for v in heatmap_size)
        self.kernel = kernel
        self.padding = float(padding)
        self.sigmas = _load_sigmas(sigmas, metainfo)
        # UDP: pixel centres at integers, image extent [0, size - 1], so
        # x_hm = x_in * (W - 1) / (w - 1) (the input window of
        # ops.double_map.heatmap_affine)
        self.scale_factor = heatmap_affine(self.input_size,
                                           self.heatmap_size)[0].astype(
                                               np.float32)

    # ------------------------------------------------------------------ encode
    def _train_variance(self, num: int, area: Optional[np.ndarray],
                        bbox_scale: Optional[np.ndarray]) -> np.ndarray:
        """OKS variances (N, K) of the instances in heatmap pixels^2."""
        if self.kernel == 'authors':
            var = oks_variance_authors(self.sigmas, self.heatmap_size)
            return np.broadcast_to(var.numpy(), (num, len(self.sigmas))).copy()
        if bbox_scale is None:
            var = oks_variance_nominal(self.sigmas, self.heatmap_size,
                                       self.padding)
            return np.broadcast_to(var.numpy(), (num, len(self.sigmas))).copy()
        window = np.asarray(bbox_scale, dtype=np.float64).reshape(num, 2)
        if area is None:
            # MMPose's rule for a missing area: 0.53 * bbox area
            bbox = window / self.padding
            area = 0.53 * bbox[:, 0] * bbox[:, 1]
        area = np.asarray(area, dtype=np.float64).reshape(num)
        return oks_variance_instance(self.sigmas, area, window,
                                     self.heatmap_size).numpy().astype(
                                         np.float32)

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               area: Optional[np.ndarray] = None,
               bbox_scale: Optional[np.ndarray] = None,
               keypoints_visibility_raw: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints (input-crop pixels) into ProbPose labels.

        Args:
            keypoints (np.ndarray): Keypoints in input pixels (N, K, 2).
            keypoints_visible (np.ndarray, optional): MMPose's collapsed
                visibility (N, K), > 0 for annotated keypoints.
            area (np.ndarray, optional): Object areas in image pixels^2,
                (N, ). Defaults to 0.53 * bbox area.
            bbox_scale (np.ndarray, optional): Activation window (padded,
                aspect-fixed bbox) in image pixels (N, 2).
            keypoints_visibility_raw (np.ndarray, optional): Raw
                visibility in {0, 1, 2, 3} (N, K) (DESIGN.md section 3).

        Returns:
            dict: The items listed in the class docstring.
        """
        keypoints = np.asarray(keypoints, dtype=np.float32)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError('keypoints must have shape (N, K, 2), got '
                             f'{keypoints.shape}')
        num, num_kpts = keypoints.shape[:2]
        if num_kpts != len(self.sigmas):
            raise ValueError(f'got {num_kpts} keypoints but {len(self.sigmas)}'
                             ' OKS sigmas')
        if keypoints_visible is None:
            keypoints_visible = np.ones((num, num_kpts), dtype=np.float32)
        visible = np.asarray(keypoints_visible, dtype=np.float32).reshape(
            num, num_kpts)
        if keypoints_visibility_raw is not None:
            raw = np.asarray(keypoints_visibility_raw).reshape(num, num_kpts)
            if not np.isin(raw, (0, 1, 2, 3)).all():
                raise ValueError('keypoints_visibility_raw must be in '
                                 f'{{0, 1, 2, 3}}, got {np.unique(raw)}')
            annotated = raw > 0
        else:
            raw = None
            annotated = visible > 0
        w, h = self.input_size
        in_window = ((keypoints[..., 0] >= 0) & (keypoints[..., 0] <= w - 1)
                     & (keypoints[..., 1] >= 0) & (keypoints[..., 1] <= h - 1))
        f32 = np.float32
        return dict(
            keypoint_labels=keypoints * self.scale_factor,
            oks_variance=self._train_variance(num, area, bbox_scale),
            keypoint_weights=(annotated & in_window).astype(f32),
            keypoints_in_window=in_window.astype(f32),
            presence_weights=annotated.astype(f32),
            visibility_labels=(raw == 2).astype(f32) if raw is not None else
            np.zeros((num, num_kpts), f32),
            visibility_weights=annotated.astype(f32) if raw is not None else
            np.zeros((num, num_kpts), f32),
        )

    # ------------------------------------------------------------------ decode
    def decode_variance(self) -> Tensor:
        """The OKS variances (K, ) used for decoding (heatmap pixels^2)."""
        if self.kernel == 'authors':
            return oks_variance_authors(self.sigmas, self.heatmap_size)
        return oks_variance_nominal(self.sigmas, self.heatmap_size,
                                    self.padding)

    def decision_variance(self) -> Tensor:
        """The variances (K, ) of the decision kernel (heatmap pixels^2):
        :meth:`decode_variance`, times the AP ratio for ``'coco_ap'``."""
        variance = self.decode_variance()
        if self.decision == 'coco_ap':
            variance = variance * ap_kernel_variance_ratio()
        return variance

    def decide(self, prob: Tensor, factor: float = 1.0
               ) -> Tuple[Tensor, Tensor]:
        """The decision of maps (B, K, H, W) in their own pixels, and its
        expected OKS (B, K); ``factor`` as in :meth:`decode_window`."""
        variance = wide_variance(self.decode_variance().to(prob), factor)
        if self.decision == 'expected_oks':
            return decode_expected_oks(prob, variance)
        keypoints, _ = decode_expected_oks(
            prob, wide_variance(self.decision_variance().to(prob), factor))
        return keypoints, expected_oks_at(prob, keypoints, variance)

    def check_finite(self, prob: Tensor) -> None:
        """Raise a ValueError if the maps contain NaN or Inf.

        A NaN/Inf makes the sum non-finite; the element-wise check (about
        10x the cost of the decoding itself) only runs when the sum is not
        finite, which finite values can also cause by overflowing.
        """
        if (not torch.isfinite(prob.sum())
                and not torch.isfinite(prob).all()):
            raise ValueError(f'{type(self).__name__}.decode: the probability '
                             'maps contain NaN or Inf')

    def decode_window(self, prob: Tensor, factor: float = 1.0,
                      check_finite: bool = True) -> Tuple[Tensor, Tensor]:
        """Decoding (:meth:`decide`) of maps over a window into input
        pixels.

        Args:
            prob (Tensor): Probability maps (B, K, H, W), floating.
            factor (float): Size of the maps' window relative to the input
                window (1: the input window; the double-heatmap variant's
                wide map uses its ``wide_factor``, see
                :mod:`probpose_ext.ops.double_map`). The decoding variance
                is :meth:`decode_variance` / factor^2 (the same nominal
                instance in coarser pixels). Defaults to 1.
            check_finite (bool): Raise on NaN/Inf maps. Defaults to True.

        Returns:
            tuple: ``keypoints`` (B, K, 2) in input pixels and their
            expected OKS (B, K).
        """
        if check_finite:
            self.check_finite(prob)
        keypoints, scores = self.decide(prob, factor)
        return heatmap_to_input(keypoints, self.input_size,
                                self.heatmap_size, factor), scores

    def decode(self, encoded: Union[np.ndarray, Tensor]
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one instance's probability maps.

        Args:
            encoded (np.ndarray | Tensor): Probability maps (K, H, W).

        Returns:
            tuple:
            - keypoints (np.ndarray): Input-pixel locations (1, K, 2).
            - scores (np.ndarray): Expected OKS of the decision (1, K).
        """
        prob = torch.as_tensor(np.asarray(encoded) if not isinstance(
            encoded, Tensor) else encoded)
        if prob.dim() != 3:
            raise ValueError('decode expects maps of shape (K, H, W), got '
                             f'{tuple(prob.shape)}')
        keypoints, scores = self.decode_window(prob[None].float())
        return keypoints.cpu().numpy(), scores.cpu().numpy()

    def batch_decode(self, batch_encoded: Tensor
                     ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch of probability maps in one vectorised pass.

        Args:
            batch_encoded (Tensor): Probability maps (B, K, H, W).

        Returns:
            tuple: Lists of B keypoint arrays (1, K, 2) in input pixels and B
            score arrays (1, K).
        """
        prob = torch.as_tensor(batch_encoded)
        if prob.dim() != 4:
            raise ValueError('batch_decode expects maps of shape '
                             f'(B, K, H, W), got {tuple(prob.shape)}')
        keypoints, scores = self.decode_window(prob.float())
        keypoints = keypoints.cpu().numpy()
        scores = scores.cpu().numpy()
        return ([k[None] for k in keypoints], [s[None] for s in scores])
