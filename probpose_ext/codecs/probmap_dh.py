"""ProbMapDH: targets and decoding of the double-heatmap variant (ProbPose-DH).

Two probability maps of the same size per keypoint: the *expert* map over
the input crop (what :class:`ProbMap` encodes) and the *wide* map over the
crop scaled by ``wide_factor`` about its centre. The geometry and the
decoding rule are in :mod:`probpose_ext.ops.double_map`.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.registry import KEYPOINT_CODECS
from torch import Tensor

from ..ops.double_map import (check_factor, choose_double_map,
                              input_to_heatmap, wide_variance, wide_window)
from ..ops.windows import in_window
from .probmap import ProbMap


@KEYPOINT_CODECS.register_module()
class ProbMapDH(ProbMap):
    """Codec of ProbPose-DH: expert and wide probability maps.

    Note:
        - instance number: N
        - keypoint number: K
        - input image size: [w, h]
        - heatmap size: [W, H] (both maps)
        - wide factor: f

    The expert window is the input ``[0, w-1] x [0, h-1]``; the wide window
    is ``[-(f-1)(w-1)/2, (w-1)(f+1)/2] x [-(f-1)(h-1)/2, (h-1)(f+1)/2]``
    (:func:`~probpose_ext.ops.double_map.wide_window`), and wide heatmap
    pixel ``x`` is input pixel ``x f (w-1)/(W-1) - (f-1)(w-1)/2``.

    Encoded items: everything :class:`ProbMap` encodes (the expert map's
    labels, presence w.r.t. the expert window = the activation window,
    visibility) plus

        - keypoint_labels_wide (np.ndarray): ground truth in wide heatmap
          pixels, shape (N, K, 2)
        - oks_variance_wide (np.ndarray): OKS variances in wide heatmap
          pixels^2 (the expert ones / f^2), shape (N, K)
        - keypoint_weights_wide (np.ndarray): 1 where the wide map trains:
          annotated and inside the (closed) wide window, shape (N, K)

    Decoding takes both maps stacked on axis ``-4``: ``(2, K, H, W)`` for
    :meth:`decode` and ``(B, 2, K, H, W)`` for :meth:`batch_decode` (index 0
    expert, 1 wide); each is decoded by expected OKS and the rule of
    :func:`~probpose_ext.ops.double_map.choose_double_map` picks, per
    keypoint, the wide estimate unless it falls inside the expert window.
    The wide map decodes with the expert decoding variance / f^2 (the same
    nominal instance, in coarser pixels).

    Args:
        input_size, heatmap_size, kernel, padding, decision, sigmas,
            metainfo: As in :class:`ProbMap` (``decision`` applies to both
            maps; the choice between them uses the expected OKS).
        wide_factor (float): Size of the wide window relative to the input
            window on each axis (``>= 1``). Defaults to 1.25.

    Example:
        >>> codec = dict(type='ProbMapDH', input_size=(192, 256),
        ...              heatmap_size=(48, 64), wide_factor=1.25)
    """

    label_mapping_table = dict(
        ProbMap.label_mapping_table,
        keypoint_labels_wide='keypoint_labels_wide',
        oks_variance_wide='oks_variance_wide',
        keypoint_weights_wide='keypoint_weights_wide',
    )

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 kernel: str = 'instance',
                 padding: float = 1.25,
                 sigmas: Optional[Sequence[float]] = None,
                 metainfo: Optional[dict] = None,
                 wide_factor: float = 1.25,
                 decision: str = 'expected_oks') -> None:
        super().__init__(input_size, heatmap_size, kernel=kernel,
                         padding=padding, decision=decision, sigmas=sigmas,
                         metainfo=metainfo)
        try:
            self.wide_factor = check_factor(wide_factor)
        except ValueError:
            raise ValueError('wide_factor must be a finite number >= 1, got '
                             f'{wide_factor}') from None
        self.wide_window = wide_window(self.input_size, self.wide_factor)

    # ------------------------------------------------------------------ encode
    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               area: Optional[np.ndarray] = None,
               bbox_scale: Optional[np.ndarray] = None,
               keypoints_visibility_raw: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints (input-crop pixels) into ProbPose-DH labels.

        Args:
            keypoints, keypoints_visible, area, bbox_scale,
                keypoints_visibility_raw: As in :meth:`ProbMap.encode`.

        Returns:
            dict: :meth:`ProbMap.encode`'s items plus the wide-map items
            listed in the class docstring.
        """
        encoded = super().encode(keypoints, keypoints_visible, area,
                                 bbox_scale, keypoints_visibility_raw)
        keypoints = np.asarray(keypoints, dtype=np.float32)
        annotated = encoded['presence_weights'] > 0
        in_wide = in_window(keypoints, self.wide_window)
        encoded.update(
            keypoint_labels_wide=input_to_heatmap(
                keypoints, self.input_size, self.heatmap_size,
                self.wide_factor).astype(np.float32),
            oks_variance_wide=wide_variance(encoded['oks_variance'],
                                            self.wide_factor),
            keypoint_weights_wide=(annotated & in_wide).astype(np.float32))
        return encoded

    # ------------------------------------------------------------------ decode
    def decode_double(self, expert: Tensor, wide: Tensor,
                      check_finite: bool = True
                      ) -> Tuple[Tensor, Tensor, Tensor]:
        """Decode both maps and apply the DH rule (tensors, no host copy).

        Args:
            expert (Tensor): Expert maps (B, K, H, W), floating.
            wide (Tensor): Wide maps (B, K, H, W), floating.
            check_finite (bool): Raise on NaN/Inf maps (a host sync; the
                head's training loss skips it). Defaults to True.

        Returns:
            tuple:
            - keypoints (Tensor): Chosen locations in input pixels
              (B, K, 2).
            - scores (Tensor): Expected OKS of the chosen map's decision
              (B, K).
            - from_expert (Tensor): True where the expert map was used
              (B, K).
        """
        if expert.dim() != 4 or wide.shape != expert.shape:
            raise ValueError('expert and wide must be maps of one shape '
                             f'(B, K, H, W), got {tuple(expert.shape)} and '
                             f'{tuple(wide.shape)}')
        exp_kpts, exp_scores = self.decode_window(expert, 1.0, check_finite)
        wide_kpts, wide_scores = self.decode_window(wide, self.wide_factor,
                                                    check_finite)
        return choose_double_map(exp_kpts, exp_scores, wide_kpts, wide_scores,
                                 self.input_size)

    def decode(self, encoded: Union[np.ndarray, Tensor]
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one instance's expert and wide maps.

        Args:
            encoded (np.ndarray | Tensor): Maps (2, K, H, W), expert first.

        Returns:
            tuple:
            - keypoints (np.ndarray): Input-pixel locations (1, K, 2).
            - scores (np.ndarray): Expected OKS of the decision (1, K).
        """
        prob = torch.as_tensor(np.asarray(encoded) if not isinstance(
            encoded, Tensor) else encoded)
        if prob.dim() != 4 or prob.shape[0] != 2:
            raise ValueError('decode expects expert and wide maps of shape '
                             f'(2, K, H, W), got {tuple(prob.shape)}')
        prob = prob.detach().float()
        keypoints, scores, _ = self.decode_double(prob[:1], prob[1:])
        return keypoints.cpu().numpy(), scores.cpu().numpy()

    def batch_decode(self, batch_encoded: Tensor
                     ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch of expert and wide maps in one vectorised pass.

        Args:
            batch_encoded (Tensor): Maps (B, 2, K, H, W), expert first.

        Returns:
            tuple: Lists of B keypoint arrays (1, K, 2) in input pixels and B
            score arrays (1, K).
        """
        prob = torch.as_tensor(batch_encoded)
        if prob.dim() != 5 or prob.shape[1] != 2:
            raise ValueError('batch_decode expects expert and wide maps of '
                             f'shape (B, 2, K, H, W), got {tuple(prob.shape)}')
        prob = prob.detach().float()
        keypoints, scores, _ = self.decode_double(prob[:, 0], prob[:, 1])
        keypoints = keypoints.cpu().numpy()
        scores = scores.cpu().numpy()
        return ([k[None] for k in keypoints], [s[None] for s in scores])
