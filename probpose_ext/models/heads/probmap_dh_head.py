"""ProbPose-DH head: expert and wide probability maps from the same features
(double-heatmap variant; geometry in :mod:`probpose_ext.ops.double_map`)."""
from typing import Dict, Tuple

import torch
from mmcv.cnn import build_conv_layer
from mmengine.structures import PixelData
from mmpose.registry import MODELS
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)
from torch import Tensor

from ...ops.bce import weighted_mean
from ...ops.double_map import input_to_heatmap
from ...utils.validation import strict_kwargs
from ..utils import gather_labels, pack_instances
from .probmap_head import ProbMapHead

#: wide-map labels the head reads besides ProbMapHead's (ProbMapDH codec)
_WIDE_LABELS = ('keypoint_labels_wide', 'oks_variance_wide',
                'keypoint_weights_wide')


@MODELS.register_module()
@strict_kwargs
class ProbMapDHHead(ProbMapHead):
    """ProbPose-DH head: an expert map over the input window and a wide map
    over the window ``wide_factor`` times larger, same resolution.

    The layers are :class:`ProbMapHead`'s except the final layer, which
    outputs ``2K`` channels: channels ``[0, K)`` are the expert map logits,
    ``[K, 2K)`` the wide map logits. A single convolution with ``2K``
    outputs is exactly two final layers of ``K`` outputs on the same
    features (output channels are independent). Each map is normalised by
    sparsemax over its H*W pixels at the same temperature, so
    :meth:`forward` returns ProbMapHead's :class:`ProbMapOutputs` with
    ``prob`` and ``logits`` of shape (B, 2K, H, W) (:meth:`split_maps`
    separates them) and ProbMapHead's test-time code (temperature, flip
    averaging over ``map_groups = 2`` blocks) applies to both maps.

    Losses: OKS risk of the expert maps against the expert labels
    (``loss_kpt``, keypoints annotated and inside the input window) plus
    ``wide_loss_weight`` times the OKS risk of the wide maps against the
    wide labels (``loss_kpt_wide``, keypoints annotated and inside the wide
    window); with ``dense_loss_weight`` > 0, ProbMapHead's sparsemax loss
    of each map towards its own labels' OKS target map (``loss_dense`` and
    ``wide_loss_weight`` times ``loss_dense_wide``); presence (w.r.t. the
    input window, the activation window) and visibility as in ProbMapHead. Quality is regressed on the OKS of the
    *DH decision* (the map the rule picks, the prediction the head
    outputs), in expert heatmap pixels, for keypoints annotated inside the
    wide window (where the DH prediction can be right).

    Prediction: both maps decoded by expected OKS, the rule of
    :func:`~probpose_ext.ops.double_map.choose_double_map` picks per
    keypoint; ``keypoint_expected_oks`` and the credible fields come from
    the chosen map (wide-map boxes mapped by the wide geometry);
    ``keypoint_from_expert`` (1, K) says which map was used.
    ``output_heatmaps`` returns the expert maps (K, H, W), what MMPose's
    visualiser expects.

    Note:
        - batch size: B
        - keypoint number: K
        - heatmap size: [W, H] (both maps)

    Args:
        in_channels (int): Backbone feature channels.
        out_channels (int): Number of keypoints K.
        final_layer (dict): Final convolution config (as in HeatmapHead,
            with ``2K`` outputs); must not be None.
        wide_loss_weight (float): Weight of the wide map's OKS risk.
            Defaults to 1.0.
        decoder (dict): The ``ProbMapDH`` codec config (required: it holds
            the wide factor).
        **kwargs: The other arguments of :class:`ProbMapHead`
            (deconv/conv layers, ``temperature``, branches, losses,
            ``init_cfg``).

    Example:
        >>> codec = dict(type='ProbMapDH', input_size=(96, 128),
        ...              heatmap_size=(24, 32), wide_factor=1.25)
        >>> head = dict(type='ProbMapDHHead', in_channels=192,
        ...             out_channels=17, deconv_out_channels=[],
        ...             deconv_kernel_sizes=[], decoder=codec)
    """

    codec_types = ('ProbMapDH', )
    map_groups = 2

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 final_layer: dict = dict(kernel_size=1),
                 wide_loss_weight: float = 1.0,
                 decoder: OptConfigType = None,
                 **kwargs) -> None:
        if decoder is None:
            raise ValueError("ProbMapDHHead needs a 'ProbMapDH' decoder (it "
                             'holds the wide factor), got None')
        if final_layer is None:
            raise ValueError('ProbMapDHHead needs a final_layer (it outputs '
                             'the expert and wide logits), got None')
        if wide_loss_weight < 0:
            raise ValueError('wide_loss_weight must be >= 0, got '
                             f'{wide_loss_weight}')
        super().__init__(in_channels, out_channels, final_layer=final_layer,
                         decoder=decoder, **kwargs)
        self.wide_loss_weight = float(wide_loss_weight)
        cfg = dict(type='Conv2d', in_channels=self.final_layer.in_channels,
                   kernel_size=1)
        cfg.update(final_layer)
        cfg['out_channels'] = 2 * out_channels
        self.final_layer = build_conv_layer(cfg)

    @staticmethod
    def split_maps(maps: Tensor) -> Tuple[Tensor, Tensor]:
        """Split stacked maps (B, 2K, H, W) into expert and wide (B, K, H,
        W) each."""
        if maps.dim() != 4 or maps.shape[1] % 2:
            raise ValueError('maps must have shape (B, 2K, H, W), got '
                             f'{tuple(maps.shape)}')
        k = maps.shape[1] // 2
        return maps[:, :k], maps[:, k:]

    # ----------------------------------------------------------------- loss
    def _gather_labels(self, batch_data_samples) -> Dict[str, Tensor]:
        labels = super()._gather_labels(batch_data_samples)
        labels.update(
            gather_labels(batch_data_samples, _WIDE_LABELS, 'ProbMapDHHead',
                          'ProbMapDH'))
        return labels

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Losses: OKS risk of the expert and wide maps, BCE presence,
        class-balanced BCE visibility, and quality regression on the OKS of
        the DH decision (expert heatmap pixels); also logs
        ``acc_presence``, ``oks_decoded`` (mean OKS of the DH decision) and
        ``expert_ratio`` (share of those keypoints decoded from the expert
        map)."""
        out = self.forward(feats)
        gt = self._gather_labels(batch_data_samples)
        expert, wide = self.split_maps(out.prob)
        gt_kpts = gt['keypoint_labels'].to(expert)
        variance = gt['oks_variance'].to(expert)
        wide_weights = gt['keypoint_weights_wide'].to(expert)
        losses = dict(
            loss_kpt=self.loss_module(expert, gt_kpts, variance,
                                      gt['keypoint_weights'].to(expert)),
            loss_kpt_wide=self.wide_loss_weight * self.loss_module(
                wide, gt['keypoint_labels_wide'].to(wide),
                gt['oks_variance_wide'].to(wide), wide_weights))
        if self.dense_loss_weight > 0:
            logits, logits_wide = self.split_maps(out.logits)
            losses['loss_dense'] = self._dense_loss(
                logits, expert, gt_kpts, variance,
                gt['keypoint_weights'].to(expert))
            losses['loss_dense_wide'] = self.wide_loss_weight * \
                self._dense_loss(logits_wide, wide,
                                 gt['keypoint_labels_wide'].to(wide),
                                 gt['oks_variance_wide'].to(wide),
                                 wide_weights, self.decoder.wide_factor)

        losses.update(self._branch_losses(out, gt))
        with torch.no_grad():
            pred, _, from_expert = self.decoder.decode_double(
                expert.detach(), wide.detach(), check_finite=False)
            pred = input_to_heatmap(pred, self.decoder.input_size,
                                    self.decoder.heatmap_size)
        losses.update(
            self._quality_losses(out.quality_logits, pred, gt_kpts,
                                 variance, wide_weights))
        with torch.no_grad():
            losses['expert_ratio'] = weighted_mean(from_expert.to(expert),
                                                    wide_weights)
        return losses

    # -------------------------------------------------------------- predict
    def _map_fields_dh(self, expert: Tensor, wide: Tensor,
                       from_expert: Tensor,
                       test_cfg: ConfigType) -> Dict[str, Tensor]:
        """ProbMapHead's map fields (credible area (B, K) and box (B, K,
        4), covariance (B, K, 2, 2); in input pixels, as ``test_cfg`` asks)
        of the map chosen per keypoint."""
        expert_fields = self._map_fields(expert, test_cfg)
        wide_fields = self._map_fields(wide, test_cfg,
                                       self.decoder.wide_factor)
        return {
            name: torch.where(
                from_expert.reshape(from_expert.shape +
                                    (1, ) * (value.dim() - 2)), value,
                wide_fields[name])
            for name, value in expert_fields.items()
        }

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Predict as :meth:`ProbMapHead.predict` (same ``test_cfg`` keys)
        with the DH decoding rule.

        Returns:
            list[InstanceData] (and list[PixelData] of the expert maps with
            ``output_heatmaps``): ProbMapHead's fields, where
            ``keypoints``, ``keypoint_expected_oks`` and the credible fields
            come from the map chosen per keypoint, plus
            ``keypoint_from_expert`` (1, K) bool, True where the expert map
            was used.
        """
        return super().predict(feats, batch_data_samples, test_cfg)

    def _predict(self, feats: Features, batch_data_samples: OptSampleList,
                 test_cfg: ConfigType) -> Predictions:
        prob, probs = self._test_outputs(feats, batch_data_samples, test_cfg)
        expert, wide = self.split_maps(prob)
        keypoints, expected_oks, from_expert = self.decoder.decode_double(
            expert, wide)
        preds = pack_instances(
            keypoints,
            dict(self._fields(probs, expected_oks, test_cfg),
                 keypoint_from_expert=from_expert,
                 **self._map_fields_dh(expert, wide, from_expert,
                                       test_cfg)))
        if test_cfg.get('output_heatmaps', False):
            return preds, [PixelData(heatmaps=p) for p in expert.detach()]
        return preds
