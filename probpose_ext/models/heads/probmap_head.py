"""ProbPose head: sparsemax probability maps with presence, visibility and
localisation-quality branches (DESIGN.md sections 3-4, items 1-5)."""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.structures import PixelData
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)
from torch import Tensor, nn

from ...ops import (credible_region_stats, decode_expected_oks,
                    oks_target_map, sparsemax_loss, sparsemax_maps)
from ...ops.bce import weighted_mean
from ...ops.double_map import heatmap_area_to_input, heatmap_boxes_to_input
from ...ops.map_moments import map_moments, map_moments_to_input
from ..utils import (check_decoder_type, flip_test_average, gather_labels,
                     pack_instances)

#: labels the head reads from ``gt_instance_labels`` (see ProbMap codec)
_LABELS = ('keypoint_labels', 'oks_variance', 'keypoint_weights',
           'keypoints_in_window', 'presence_weights', 'visibility_labels',
           'visibility_weights')
#: scalar branches of the head, (B, K) logits each (fields of
#: :class:`ProbMapOutputs`)
BRANCHES = ('presence_logits', 'visibility_logits', 'quality_logits')


class ProbMapOutputs(NamedTuple):
    """What :meth:`ProbMapHead.forward` returns: a tuple of tensors, as
    MMPose heads return (``mode='tensor'``, FLOP counting and export rely on
    it), with named fields.

    Attributes:
        prob (Tensor): Probability maps (B, M, H, W), each summing to 1
            (M = K; 2K for ProbPose-DH: expert then wide maps).
        logits (Tensor): The map logits before the temperature (B, M, H, W)
            (what calibration refits).
        presence_logits (Tensor): Presence logits (B, K).
        visibility_logits (Tensor): Visibility logits (B, K).
        quality_logits (Tensor): Localisation-quality logits (B, K).
    """
    prob: Tensor
    logits: Tensor
    presence_logits: Tensor
    visibility_logits: Tensor
    quality_logits: Tensor


class _GlobalAvgPool(torch.autograd.Function):
    """Spatial mean ``(B, C, H, W) -> (B, C)`` whose backward pass returns
    the gradient as a broadcast (stride-0) view.

    Autograd's own mean backward materialises the full (B, C, H, W)
    gradient before it is added to the gradient of the map branch; a
    broadcast view is added in one pass. Same values as
    ``AdaptiveAvgPool2d(1)`` followed by ``Flatten``.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.input_shape = x.shape
        return x.mean(dim=(2, 3))

    @staticmethod
    def backward(ctx, grad_pooled: Tensor) -> Tensor:
        shape = ctx.input_shape
        return (grad_pooled / (shape[2] * shape[3]))[..., None, None].expand(
            shape)


@MODELS.register_module()
class ProbMapHead(HeatmapHead):
    """ProbPose head.

    The map branch is MMPose's HeatmapHead stack (deconvs, convs, final
    layer) producing K logit maps, normalised per keypoint by sparsemax over
    the H*W pixels after dividing by ``temperature``. Three small branches on
    the (pooled) backbone features predict per keypoint: presence (is the
    keypoint inside the activation window), visibility (v == 2) and
    localisation quality (the OKS of the decoded prediction).

    Note:
        - batch size: B
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        in_channels (int): Backbone feature channels.
        out_channels (int): Number of keypoints K.
        deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
            conv_kernel_sizes, final_layer: As in MMPose's HeatmapHead.
        temperature (float): Sparsemax temperature (the authors use 0.5).
        branch_channels (int): Width of the scalar branches' hidden layers.
        branch_depth (int): Number of hidden layers of those branches.
        detach_branches (bool): Stop gradients from the presence and
            visibility branches into the backbone (the paper's setup).
        branch_grid (tuple[int, int], optional): ``(rows, cols)``. With it,
            the presence and visibility branches read the features through
            a 1x1 conv to ``branch_grid_channels`` channels + ReLU, average
            pooled to a ``rows x cols`` grid and flattened, instead of their
            global average: they see where the body lies in the window,
            which is what decides whether a keypoint is outside it (a global
            average is nearly blind to position). Defaults to None (global
            average pooling, the paper's setup).
        branch_grid_channels (int): Channels of the grid branches' 1x1 conv.
            Defaults to 32.
        dense_loss_weight (float): Weight of an auxiliary sparsemax
            (Fenchel-Young) loss of the maps towards the normalised OKS
            target map of the ground truth (``loss_dense``). Unlike the OKS
            risk it sends gradient to the logits of pixels outside the
            predicted support. Defaults to 0 (off: the paper's loss).
        dense_target_sigma (float, optional): With it, the dense loss's
            target is a Gaussian of this standard deviation in heatmap
            pixels (the shape of MMPose's heatmap targets) instead of the
            keypoint's OKS kernel, whose width grows with the OKS sigma (2-3
            times wider for hips and knees than a 2-pixel Gaussian at 64x48);
            a wide target trades localisation precision for nothing the OKS
            risk needs. Defaults to None (the OKS kernel).
        dense_target_min_oks (bool): With ``dense_target_sigma``, use per
            keypoint and instance the narrower of that Gaussian and the OKS
            kernel (the smaller variance), so keypoints whose OKS kernel is
            narrower than the Gaussian (eyes and nose of small people) keep
            their tighter target. Defaults to False.
        loss (dict): Map loss config. Defaults to ``OKSRiskLoss``.
        loss_presence (dict): Presence loss config, called as
            ``loss(logits, in_window, weights)`` on (B, K) tensors. Defaults
            to ``WeightedBCELoss`` (BCE averaged over the annotated
            keypoints).
        loss_visibility (dict): Visibility loss config, called the same way
            on the visibility labels. Defaults to the class-balanced
            ``WeightedBCELoss``.
        quality_loss_weight (float): Weight of the quality regression.
        decoder (dict): The ``ProbMap`` codec config.
        init_cfg (dict, optional): Initialisation config.
    """

    #: codec types this head decodes with
    codec_types: Tuple[str, ...] = ('ProbMap', )
    #: blocks of K maps in :meth:`forward`'s ``prob`` (flip test swaps
    #: left/right keypoints within each)
    map_groups: int = 1

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None,
                 conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer: dict = dict(kernel_size=1),
                 temperature: float = 0.5,
                 branch_channels: int = 128,
                 branch_depth: int = 1,
                 detach_branches: bool = True,
                 branch_grid: Optional[Sequence[int]] = None,
                 branch_grid_channels: int = 32,
                 dense_loss_weight: float = 0.0,
                 dense_target_sigma: Optional[float] = None,
                 dense_target_min_oks: bool = False,
                 loss: ConfigType = dict(type='OKSRiskLoss'),
                 loss_presence: ConfigType = dict(type='WeightedBCELoss'),
                 loss_visibility: ConfigType = dict(type='WeightedBCELoss',
                                                    class_balanced=True),
                 quality_loss_weight: float = 1.0,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if dense_loss_weight < 0:
            raise ValueError('dense_loss_weight must be >= 0, got '
                             f'{dense_loss_weight}')
        if dense_target_sigma is not None and dense_target_sigma <= 0:
            raise ValueError('dense_target_sigma must be > 0 or None, got '
                             f'{dense_target_sigma}')
        if dense_target_min_oks and dense_target_sigma is None:
            raise ValueError('dense_target_min_oks needs dense_target_sigma '
                             '(without it the target is the OKS kernel)')
        if branch_grid is not None and (
                len(branch_grid) != 2 or min(branch_grid) < 1
                or branch_grid_channels < 1):
            raise ValueError('branch_grid must be (rows, cols) >= 1 and '
                             'branch_grid_channels >= 1, got '
                             f'{branch_grid}, {branch_grid_channels}')
        if branch_depth < 0 or branch_channels < 1:
            raise ValueError('branch_depth must be >= 0 and branch_channels '
                             f'>= 1, got {branch_depth}, {branch_channels}')
        check_decoder_type(type(self).__name__, decoder, self.codec_types)
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes,
            final_layer=final_layer,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg)
        self.temperature = float(temperature)
        self.detach_branches = detach_branches
        self.dense_loss_weight = float(dense_loss_weight)
        self.dense_target_sigma = None if dense_target_sigma is None else \
            float(dense_target_sigma)
        self.dense_target_min_oks = bool(dense_target_min_oks)
        self.presence_loss_module = MODELS.build(loss_presence)
        self.visibility_loss_module = MODELS.build(loss_visibility)
        self.quality_loss_weight = quality_loss_weight
        channels = in_channels if isinstance(in_channels, int) else \
            in_channels[-1]
        self.branch_grid = None if branch_grid is None else \
            tuple(int(n) for n in branch_grid)
        in_out = dict(grid=self.branch_grid, grid_channels=branch_grid_channels)
        self.presence_branch = self._make_branch(channels, out_channels,
                                                 branch_channels, branch_depth,
                                                 **in_out)
        self.visibility_branch = self._make_branch(channels, out_channels,
                                                   branch_channels,
                                                   branch_depth, **in_out)
        self.quality_branch = self._make_branch(channels, out_channels,
                                                branch_channels, branch_depth)

    @staticmethod
    def _make_branch(in_channels: int, out_channels: int, width: int,
                     depth: int, grid: Optional[Tuple[int, int]] = None,
                     grid_channels: int = 32) -> nn.Sequential:
        """Global average pooling, flatten, then an MLP; with ``grid``, a
        1x1 conv to ``grid_channels`` + ReLU, average pooling to ``grid``,
        flatten, then the MLP. :meth:`forward` pools once for the global
        branches and runs only their MLP part (``branch[2:]``); the pooling
        layers stay in the module so that it works on its own and
        checkpoints keep their keys."""
        if grid is None:
            layers = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            channels = in_channels
        else:
            layers = [nn.Conv2d(in_channels, grid_channels, 1),
                      nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(grid),
                      nn.Flatten()]
            channels = grid_channels * grid[0] * grid[1]
        for _ in range(depth):
            layers += [nn.Linear(channels, width), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.Linear(channels, out_channels))
        return nn.Sequential(*layers)

    def normalise(self, logits: Tensor,
                  temperature: Optional[float] = None) -> Tensor:
        """Probability maps ``sparsemax(logits / T)`` over the H*W pixels.

        Args:
            logits (Tensor): Map logits (B, K, H, W).
            temperature (float, optional): ``T``. Defaults to the head's
                training temperature.

        Returns:
            Tensor: Probability maps (B, K, H, W), each summing to 1.
        """
        return sparsemax_maps(
            logits, self.temperature if temperature is None else temperature)

    def forward(self, feats: Tuple[Tensor]) -> ProbMapOutputs:
        """Forward the network.

        Args:
            feats (Tuple[Tensor]): Backbone features; the last is used.

        Returns:
            ProbMapOutputs: ``(prob, logits, presence_logits,
            visibility_logits, quality_logits)``: the probability maps
            (B, K, H, W), each summing to 1, the map logits before the
            temperature (B, K, H, W), and the branch logits (B, K).
        """
        x = feats[-1]
        # The branches' AdaptiveAvgPool2d(1) + Flatten, computed once, and
        # before the map branch: autograd runs its backward pass after the
        # map branch's, so it can add the broadcast gradient in place.
        pooled = _GlobalAvgPool.apply(x)
        logits = self.final_layer(self.conv_layers(self.deconv_layers(x)))
        prob = self.normalise(logits)
        if self.branch_grid is None:
            branch_in = pooled.detach() if self.detach_branches else pooled
            presence, visibility = (self.presence_branch[2:],
                                    self.visibility_branch[2:])
        else:
            branch_in = x.detach() if self.detach_branches else x
            presence, visibility = self.presence_branch, self.visibility_branch
        return ProbMapOutputs(
            prob=prob,
            logits=logits,
            presence_logits=presence(branch_in),
            visibility_logits=visibility(branch_in),
            quality_logits=self.quality_branch[2:](pooled))

    # ----------------------------------------------------------------- loss
    def _gather_labels(self, batch_data_samples) -> Dict[str, Tensor]:
        return gather_labels(batch_data_samples, _LABELS, 'ProbMapHead',
                             'ProbMap')

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Losses: OKS risk of the maps, BCE presence, class-balanced BCE
        visibility, and quality regression on the OKS of the decoded
        prediction (heatmap pixels for both distance and variance)."""
        out = self.forward(feats)
        gt = self._gather_labels(batch_data_samples)
        prob = out.prob
        gt_kpts = gt['keypoint_labels'].to(prob)
        variance = gt['oks_variance'].to(prob)
        map_weights = gt['keypoint_weights'].to(prob)
        losses = dict(
            loss_kpt=self.loss_module(prob, gt_kpts, variance, map_weights))
        if self.dense_loss_weight > 0:
            losses['loss_dense'] = self._dense_loss(
                out.logits, prob, gt_kpts, variance, map_weights)

        losses.update(self._branch_losses(out, gt))
        with torch.no_grad():
            if self.decoder is not None:
                pred_kpts, _ = self.decoder.decide(prob.detach())
            else:
                pred_kpts, _ = decode_expected_oks(prob.detach(), variance)
        losses.update(
            self._quality_losses(out.quality_logits, pred_kpts, gt_kpts,
                                 variance, map_weights))
        return losses

    def _dense_loss(self, logits: Tensor, prob: Tensor, gt_kpts: Tensor,
                    variance: Tensor, weights: Tensor,
                    factor: float = 1.0) -> Tensor:
        """Weighted mean over keypoints of the sparsemax loss of
        ``logits / temperature`` towards the ground truth's target map (the
        OKS kernel of ``variance``, or the Gaussian of
        ``dense_target_sigma / factor`` for maps whose pixels are ``factor``
        times coarser, or the narrower of the two with
        ``dense_target_min_oks``), normalised to sum to 1 (B, K, H, W logits
        and their maps ``prob`` from :meth:`forward`, reused; heatmap
        pixels)."""
        b, k, h, w = logits.shape
        if self.dense_target_sigma is not None:
            gaussian = torch.full_like(variance,
                                       (self.dense_target_sigma / factor)**2)
            variance = torch.minimum(variance, gaussian) \
                if self.dense_target_min_oks else gaussian
        with torch.no_grad():
            target = oks_target_map(gt_kpts.float(), variance.float(),
                                    (w, h))
            target = target / target.sum(dim=(-2, -1),
                                         keepdim=True).clamp_min(1e-12)
        loss = sparsemax_loss(
            logits.float().reshape(b, k, h * w) / self.temperature,
            target.reshape(b, k, h * w),
            prob=prob.reshape(b, k, h * w))
        return self.dense_loss_weight * weighted_mean(loss, weights.float())

    def _quality_losses(self, quality_logits: Tensor, pred_kpts: Tensor,
                        gt_kpts: Tensor, variance: Tensor,
                        weights: Tensor) -> Dict[str, Tensor]:
        """Quality regression on the OKS of the decoded keypoints, and that
        OKS (logged as ``oks_decoded``); in float32 under autocast too.

        Args:
            quality_logits (Tensor): (B, K) quality branch logits.
            pred_kpts (Tensor): (B, K, 2) decoded keypoints, heatmap pixels.
            gt_kpts (Tensor): (B, K, 2) ground truth, heatmap pixels.
            variance (Tensor): (B, K) OKS variances, heatmap pixels^2.
            weights (Tensor): (B, K) weights of the keypoints that count.

        Returns:
            dict: ``loss_quality`` and ``oks_decoded`` (scalars).
        """
        with torch.no_grad():
            dist2 = ((pred_kpts.float() - gt_kpts.float())**2).sum(-1)
            target_oks = torch.exp(-dist2 /
                                   (2 * variance.float().clamp_min(1e-6)))
        quality = torch.sigmoid(quality_logits.float())
        weights = weights.float()
        losses = dict(loss_quality=self.quality_loss_weight *
                      weighted_mean((quality - target_oks)**2, weights))
        with torch.no_grad():
            losses['oks_decoded'] = weighted_mean(target_oks, weights)
        return losses

    def _branch_losses(self, out: ProbMapOutputs,
                       gt: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Presence BCE (annotated keypoints, label: inside the activation
        window), class-balanced visibility BCE, and the presence accuracy
        (logged), from :meth:`forward`'s outputs and the gathered labels."""
        in_window = gt['keypoints_in_window']
        presence_w = gt['presence_weights']
        losses = dict(
            loss_presence=self.presence_loss_module(
                out.presence_logits, in_window, presence_w),
            loss_visibility=self.visibility_loss_module(
                out.visibility_logits, gt['visibility_labels'],
                gt['visibility_weights']))
        with torch.no_grad():
            logits = out.presence_logits.float()
            correct = ((logits > 0) == (in_window > 0.5)).to(logits)
            losses['acc_presence'] = weighted_mean(correct,
                                                   presence_w.to(logits))
        return losses

    # -------------------------------------------------------------- predict
    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Predict keypoints by expected-OKS decoding, plus the scalar
        branches; with ``flip_test`` the maps and the branch probabilities of
        the flipped input (left/right swapped back) are averaged.

        ``test_cfg`` keys read here (besides MMPose's ``flip_test`` and
        ``output_heatmaps``):

        - ``temperature`` (float, optional): sparsemax temperature at test
          time, e.g. the one fitted by ``tools/analysis_tools/calibrate.py``.
          Defaults to the training ``temperature``.
        - ``credible_level`` (float, optional): if given, the level ``p`` of
          the credible regions returned per keypoint (see
          :func:`probpose_ext.ops.credible_region_stats`).
        - ``output_covariance`` (bool): also return ``keypoints_cov``
          (1, K, 2, 2), the covariance of each keypoint's map in input
          pixels^2 (moment matching; :class:`ProbPoseEstimator` maps it to
          the image, and with ``flip_test`` it is that of the flip-averaged
          map). Defaults to False.
        - ``keypoint_score`` (str): what ``keypoint_scores`` holds, which
          MMPose's metrics use to rank instances: ``'quality'`` (default,
          the quality branch's predicted OKS), ``'expected_oks'`` (the
          map's expected OKS at the decoded keypoint) or
          ``'geometric_mean'`` (the square root of their product: two
          estimates of the keypoint's OKS, one from the features, one from
          the map).

        Returns:
            list[InstanceData] (and list[PixelData] with ``output_heatmaps``):
            ``keypoints`` (1, K, 2) in input pixels (the estimator maps them
            to the image), ``keypoint_scores`` = predicted quality (OKS),
            the expected OKS or their geometric mean (``keypoint_score``),
            ``keypoints_visible`` = ``keypoint_presence`` = presence
            probability, ``keypoint_visibility``, ``keypoint_expected_oks``
            (1, K); with ``credible_level``: ``keypoint_credible_area``
            (1, K) in input pixels^2 and ``keypoint_credible_box`` (1, K, 4)
            ``[x0, y0, x1, y1]`` in input pixels (NaN for an empty region).
        """
        with torch.no_grad():
            return self._predict(feats, batch_data_samples, test_cfg)

    def _test_outputs(self, feats: Features,
                      batch_data_samples: OptSampleList,
                      test_cfg: ConfigType) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Probability maps (B, K, H, W) at the test temperature and the
        branch probabilities (B, K), flip-averaged with ``flip_test``."""
        temperature = test_cfg.get('temperature', None)

        def run(x: Features) -> ProbMapOutputs:
            out = self.forward(x)
            if temperature is not None:
                out = out._replace(
                    prob=self.normalise(out.logits, temperature))
            return out

        if test_cfg.get('flip_test', False):
            feats_orig, feats_flip = feats
            out, out_flip = run(feats_orig), run(feats_flip)
            prob, probs = flip_test_average(
                out.prob, out_flip.prob,
                [getattr(out, key) for key in BRANCHES],
                [getattr(out_flip, key) for key in BRANCHES],
                batch_data_samples[0].metainfo['flip_indices'],
                groups=self.map_groups)
            return prob, dict(zip(BRANCHES, probs))
        out = run(feats)
        return out.prob, {
            key: torch.sigmoid(getattr(out, key).float())
            for key in BRANCHES
        }

    def _map_fields(self, prob: Tensor, test_cfg: ConfigType,
                    factor: float = 1.0) -> Dict[str, Tensor]:
        """Per-keypoint fields read off maps over the window of ``factor``
        (1: the input window; see :mod:`probpose_ext.ops.double_map`), in
        input pixels: with ``test_cfg['credible_level']`` the credible-region
        area (B, K) and box (B, K, 4); with
        ``test_cfg['output_covariance']`` the maps' covariance
        ``keypoints_cov`` (B, K, 2, 2) (moment matching,
        :func:`probpose_ext.ops.map_moments`)."""
        fields = {}
        sizes = (self.decoder.input_size, self.decoder.heatmap_size, factor)
        level = test_cfg.get('credible_level', None)
        if level is not None:
            area, boxes, _ = credible_region_stats(prob, float(level))
            fields.update(
                keypoint_credible_area=heatmap_area_to_input(area, *sizes),
                keypoint_credible_box=heatmap_boxes_to_input(boxes, *sizes))
        if test_cfg.get('output_covariance', False):
            mean, cov = map_moments(prob.float())
            fields['keypoints_cov'] = map_moments_to_input(mean, cov,
                                                           *sizes)[1]
        return fields

    @staticmethod
    def _fields(probs: Dict[str, Tensor], expected_oks: Tensor,
                test_cfg: ConfigType) -> Dict[str, Tensor]:
        """The per-keypoint prediction fields (B, K) from the branch
        probabilities (B, K) and the expected OKS of the decoded keypoints
        (B, K); ``test_cfg.keypoint_score`` picks what ``keypoint_scores``
        (MMPose's instance rescoring and OKS-NMS read it) holds."""
        quality = probs['quality_logits']
        expected_oks = expected_oks.to(quality)
        score = test_cfg.get('keypoint_score', 'quality')
        if score == 'quality':
            scores = quality
        elif score == 'expected_oks':
            scores = expected_oks
        elif score == 'geometric_mean':
            scores = torch.sqrt(quality * expected_oks)
        else:
            raise ValueError("test_cfg.keypoint_score must be 'quality', "
                             "'expected_oks' or 'geometric_mean', got "
                             f'{score!r}')
        presence = probs['presence_logits']
        return dict(
            keypoint_scores=scores,
            keypoints_visible=presence,
            keypoint_presence=presence,
            keypoint_visibility=probs['visibility_logits'],
            keypoint_expected_oks=expected_oks)

    def _predict(self, feats: Features, batch_data_samples: OptSampleList,
                 test_cfg: ConfigType) -> Predictions:
        prob, probs = self._test_outputs(feats, batch_data_samples, test_cfg)
        keypoints, expected_oks = self.decoder.decode_window(prob.float())
        preds = pack_instances(
            keypoints,
            dict(self._fields(probs, expected_oks, test_cfg),
                 **self._map_fields(prob, test_cfg)))
        if test_cfg.get('output_heatmaps', False):
            return preds, [PixelData(heatmaps=p) for p in prob.detach()]
        return preds
