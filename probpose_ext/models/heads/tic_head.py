"""TIC head: soft-argmax keypoints with a full 2K x 2K covariance
(TIC-TAC, Shukla, Salzmann, Alahi, ICML 2024; DESIGN.md 4.8).

The maths lives in :mod:`probpose_ext.ops` (:func:`map_moments` for the
soft-argmax, :func:`tanh_mlp_jacobian`, :mod:`probpose_ext.ops.gaussian` for
the covariances and losses, :mod:`probpose_ext.ops.covariance` for flips and
pixel maps); this module is the glue of the network parts.
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)
from torch import Tensor, nn

from ...ops.bce import weighted_mean
from ...ops.covariance import (covariance_blocks, flip_full_covariances,
                               transform_full_covariances)
from ...ops.double_map import heatmap_affine, heatmap_to_input
from ...ops.gaussian import (beta_nll, cholesky_factor_from_raw,
                             diagonal_gaussian_nll, faithful_loss,
                             gaussian_expected_oks, gaussian_nll,
                             tic_covariance)
from ...ops.jacobian import tanh_mlp_jacobian
from ...ops.map_moments import map_moments
from ...ops.map_targets import discrete_gaussian_maps, map_kl_divergence
from ..utils import check_decoder_type, gather_labels, pack_instances

#: the ``covariance`` options (parameterisation and loss)
COVARIANCES = ('tic', 'nll', 'diagonal', 'beta_nll', 'faithful')
#: labels read from ``gt_instance_labels`` (the ProbMap codec writes them)
_LABELS = ('keypoint_labels', 'keypoint_weights', 'keypoints_in_window',
           'presence_weights')


def _at_least_f32(x: Tensor) -> Tensor:
    """``x`` in float32 if it is in a lower precision (float64 stays)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class TICOutputs(NamedTuple):
    """What :meth:`TICHead.forward` returns: a tuple of tensors with names
    (``mode='tensor'``, FLOP counting and export rely on a tuple).

    Attributes:
        prob (Tensor): Softmax maps (B, K, H, W), each summing to 1.
        means (Tensor): Keypoint means (B, 2K) in heatmap pixels,
            interleaved ``(x_0, y_0, x_1, y_1, ...)``.
        cov (Tensor): Covariances (B, 2K, 2K) in heatmap pixels^2 (diagonal
            for ``'diagonal'`` and ``'beta_nll'``).
        presence_logits (Tensor): Presence logits (B, K).
        z (Tensor): The bottleneck (B, Z).
        jacobian (Tensor): ``d means / d z`` (B, 2K, Z), detached.
        eps1 (Tensor): Weight of ``J J^T`` (B,) (used by ``'tic'`` only).
        log_prob (Tensor): ``log_softmax`` of the maps (B, K, H, W) (the map
            loss reads it; ``log(prob)`` could underflow).
    """
    prob: Tensor
    means: Tensor
    cov: Tensor
    presence_logits: Tensor
    z: Tensor
    jacobian: Tensor
    eps1: Tensor
    log_prob: Tensor


@MODELS.register_module()
class TICHead(HeatmapHead):
    """Soft-argmax keypoint head with a full joint covariance (TIC).

    Network (B: batch, K: keypoints, D = 2K, Z: bottleneck size):

    * maps: MMPose's HeatmapHead stack (deconvs, convs, final layer) gives K
      logit maps; ``softmax(beta * logits)`` over the H*W pixels, and the
      soft-argmax ``m0`` is each map's expected ``(x, y)`` (pixel centres at
      integers, the UDP grid of the ProbMap codec; :func:`map_moments`).
    * bottleneck: ``z = Linear(global average of the features)`` (B, Z).
    * means: ``m0 + refine(z)``, ``refine = Linear(Z, R) - tanh -
      Linear(R, D)`` (last layer zero-initialised, so training starts from
      the soft-argmax). The means are thus a differentiable function of
      ``z`` and ``J = d means / d z = d refine / d z`` (B, D, Z), in
      closed form (:func:`~probpose_ext.ops.jacobian.tanh_mlp_jacobian`,
      equal to :func:`output_jacobian` of ``refine``; unlike ``torch.func``
      it traces for ONNX export), detached as in the paper.
      Design choice: ``z`` refines the soft-argmax additively instead of
      modulating the maps, so ``J`` needs no per-sample map tensors;
      ``J`` is the sensitivity of the pose to the bottleneck through the
      refinement, which tanh makes vary per sample.
    * auxiliary network on the *detached* ``z``: ``Linear(Z, A) - ReLU -
      Linear(A, D*D + 1)`` gives ``L = cholesky_factor_from_raw(raw)``
      (lower triangular, diagonal >= ``min_diag``; the diagonal's bias is
      set so that the initial standard deviations are ``init_std``) and
      ``eps1 = out^2``.
    * presence: ``Linear`` on the detached pooled features, (B, K) logits.

    ``covariance`` picks the parameterisation and loss (one config key):

    ============  ==========================  ================================
    option        covariance                  loss
    ============  ==========================  ================================
    ``tic``       ``eps1 J J^T + L L^T``      :func:`gaussian_nll`
    ``nll``       ``L L^T``                   :func:`gaussian_nll`
    ``diagonal``  ``diag(L_dd^2)``            :func:`diagonal_gaussian_nll`
    ``beta_nll``  ``diag(L_dd^2)``            :func:`beta_nll` (``beta``)
    ``faithful``  ``L L^T``                   :func:`faithful_loss`
    ============  ==========================  ================================

    Losses (residual = mean - GT in heatmap pixels, over the present joints:
    ``keypoint_weights > 0``, i.e. annotated and inside the activation
    window; absent joints are masked as in :func:`gaussian_nll`):
    ``loss_nll`` = ``nll_loss_weight`` times the batch mean of the per-sample
    loss above; ``loss_mean`` = ``mean_loss_weight`` times the mean
    Euclidean error of the present joints (integral-regression L1): the NLL
    alone scales the means' gradient by the inverse covariance, which is
    slow from a random start (0 turns it off); ``loss_map`` =
    ``map_loss_weight`` times the mean over the present joints of
    ``KL(T || P)``, ``T`` the discrete Gaussian of standard deviation
    ``map_sigma`` at the GT (:mod:`probpose_ext.ops.map_targets`; the map
    supervision of DSNT, which makes the soft-argmax localise from the
    first epochs; 0 turns it off); ``loss_presence`` = BCE of the presence
    logits on ``keypoints_in_window`` (``presence_weights``).

    Note:
        - batch size: B
        - keypoint number: K, D = 2K
        - heatmap size: [W, H]

    Args:
        in_channels (int): Backbone feature channels.
        out_channels (int): Number of keypoints K.
        deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
            conv_kernel_sizes, final_layer: As in MMPose's HeatmapHead.
        beta (float): Inverse temperature of the soft-argmax softmax.
            Defaults to 1.
        covariance (str): One of :data:`COVARIANCES`. Defaults to 'tic'.
        bottleneck_channels (int): Z. Defaults to 32.
        refine_channels (int): R, hidden width of the refinement.
            Defaults to 64.
        aux_channels (int): A, hidden width of the auxiliary network.
            Defaults to 256.
        min_diag (float): Lower bound of L's diagonal (heatmap pixels).
            Defaults to 0.05.
        init_std (float): Initial standard deviation of every coordinate
            (heatmap pixels). Defaults to 2.
        beta_nll_beta (float): Beta-NLL's exponent. Defaults to 0.5.
        nll_loss_weight (float): Weight of ``loss_nll``. Defaults to 1.
        mean_loss_weight (float): Weight of ``loss_mean``. Defaults to 1.
        map_loss_weight (float): Weight of ``loss_map``. Defaults to 1.
        map_sigma (float): Standard deviation of the map target (heatmap
            pixels). Defaults to 1.
        loss (dict): Unused map loss (HeatmapHead builds one). Defaults to
            ``KeypointMSELoss``.
        loss_presence (dict): Presence loss, called as ``loss(logits,
            labels, weights)``. Defaults to ``WeightedBCELoss``.
        decoder (dict): The ``ProbMap`` codec config (its labels are in
            heatmap pixels on the UDP grid; its sizes map back to input
            pixels).
        init_cfg (dict, optional): Initialisation config.
    """

    codec_types: Tuple[str, ...] = ('ProbMap', )

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None,
                 conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer: dict = dict(kernel_size=1),
                 beta: float = 1.0,
                 covariance: str = 'tic',
                 bottleneck_channels: int = 32,
                 refine_channels: int = 64,
                 aux_channels: int = 256,
                 min_diag: float = 0.05,
                 init_std: float = 2.0,
                 beta_nll_beta: float = 0.5,
                 nll_loss_weight: float = 1.0,
                 mean_loss_weight: float = 1.0,
                 map_loss_weight: float = 1.0,
                 map_sigma: float = 1.0,
                 loss: ConfigType = dict(type='KeypointMSELoss'),
                 loss_presence: ConfigType = dict(type='WeightedBCELoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if covariance not in COVARIANCES:
            raise ValueError(f'covariance must be one of {COVARIANCES}, got '
                             f'{covariance!r}')
        if map_sigma <= 0 or min(nll_loss_weight, mean_loss_weight,
                                 map_loss_weight) < 0:
            raise ValueError('map_sigma must be > 0 and the loss weights '
                             f'>= 0, got {map_sigma}, {nll_loss_weight}, '
                             f'{mean_loss_weight}, {map_loss_weight}')
        if beta <= 0 or min_diag <= 0 or init_std <= min_diag:
            raise ValueError('beta and min_diag must be > 0 and init_std > '
                             f'min_diag, got {beta}, {min_diag}, {init_std}')
        if min(bottleneck_channels, refine_channels, aux_channels) < 1:
            raise ValueError('bottleneck/refine/aux channels must be >= 1')
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
        self.beta = float(beta)
        self.covariance = covariance
        self.min_diag = float(min_diag)
        self.beta_nll_beta = float(beta_nll_beta)
        self.nll_loss_weight = float(nll_loss_weight)
        self.mean_loss_weight = float(mean_loss_weight)
        self.map_loss_weight = float(map_loss_weight)
        self.map_sigma = float(map_sigma)
        self.presence_loss_module = MODELS.build(loss_presence)
        channels = in_channels if isinstance(in_channels, int) else \
            in_channels[-1]
        d = 2 * out_channels
        self.bottleneck = nn.Linear(channels, bottleneck_channels)
        self.refine = nn.Sequential(
            nn.Linear(bottleneck_channels, refine_channels), nn.Tanh(),
            nn.Linear(refine_channels, d))
        self.aux = nn.Sequential(
            nn.Linear(bottleneck_channels, aux_channels),
            nn.ReLU(inplace=True), nn.Linear(aux_channels, d * d + 1))
        self.presence_branch = nn.Linear(channels, out_channels)
        self._init_new_layers(float(init_std))

    def _init_new_layers(self, init_std: float) -> None:
        """Zero refinement (means start at the soft-argmax), small auxiliary
        outputs with L's diagonal at ``init_std`` and ``eps1`` near 0."""
        d = self.refine[-1].out_features
        nn.init.zeros_(self.refine[-1].weight)
        nn.init.zeros_(self.refine[-1].bias)
        last = self.aux[-1]
        nn.init.normal_(last.weight, std=1e-3)
        bias = torch.zeros(d * d + 1)
        # softplus(b) + min_diag = init_std
        bias[:d * d].view(d, d).diagonal().fill_(
            float(np.log(np.expm1(init_std - self.min_diag))))
        bias[-1] = 0.1
        with torch.no_grad():
            last.bias.copy_(bias)

    # -------------------------------------------------------------- forward
    def soft_argmax(self, logits: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Softmax maps ``softmax(beta * logits)`` (B, K, H, W), their
        logarithms (B, K, H, W) and their expected ``(x, y)`` (B, K, 2) in
        heatmap pixels."""
        b, k, h, w = logits.shape
        logits = _at_least_f32(logits)
        log_prob = F.log_softmax(self.beta * logits.reshape(b, k, h * w),
                                 dim=-1).reshape(b, k, h, w)
        prob = log_prob.exp()
        return prob, log_prob, map_moments(prob)[0]

    def covariances(self, raw: Tensor, jacobian: Tensor,
                    eps1: Tensor) -> Tensor:
        """The covariance of the chosen parameterisation (B, D, D) from the
        raw auxiliary outputs (B, D, D), ``J`` (B, D, Z) and ``eps1`` (B,).
        """
        chol = cholesky_factor_from_raw(raw, self.min_diag)
        if self.covariance in ('diagonal', 'beta_nll'):
            return torch.diag_embed(chol.diagonal(dim1=-2, dim2=-1).pow(2))
        if self.covariance == 'tic':
            return tic_covariance(jacobian, eps1, chol)
        return chol @ chol.transpose(-1, -2)

    def forward(self, feats: Tuple[Tensor]) -> TICOutputs:
        """Forward the network (see the class docstring).

        Args:
            feats (Tuple[Tensor]): Backbone features; the last is used.

        Returns:
            TICOutputs: maps (B, K, H, W), means (B, 2K), covariances
            (B, 2K, 2K) in heatmap pixels, presence logits (B, K), ``z``
            (B, Z), ``J`` (B, 2K, Z) and ``eps1`` (B,).
        """
        x = feats[-1]
        pooled = x.mean(dim=(2, 3))
        logits = self.final_layer(self.conv_layers(self.deconv_layers(x)))
        prob, log_prob, m0 = self.soft_argmax(logits)
        z = self.bottleneck(pooled)
        # means, J and the covariance in at least float32 (under autocast
        # too: the NLL factorises the covariance)
        means = m0.reshape(m0.shape[0], -1) + _at_least_f32(self.refine(z))
        first, last = self.refine[0], self.refine[2]
        z32 = _at_least_f32(z.detach())
        jacobian = tanh_mlp_jacobian(
            z32, first.weight.to(z32), first.bias.to(z32),
            last.weight.to(z32)).detach()
        out = _at_least_f32(self.aux(z.detach()))
        d = means.shape[1]
        raw = out[:, :d * d].reshape(-1, d, d)
        eps1 = out[:, -1].pow(2)
        return TICOutputs(
            prob=prob,
            means=means,
            cov=self.covariances(raw, jacobian, eps1),
            presence_logits=self.presence_branch(pooled.detach()),
            z=z,
            jacobian=jacobian,
            eps1=eps1,
            log_prob=log_prob)

    # ----------------------------------------------------------------- loss
    def _gather_labels(self, batch_data_samples) -> Dict[str, Tensor]:
        return gather_labels(batch_data_samples, _LABELS, 'TICHead', 'ProbMap')

    def nll_loss(self, out: TICOutputs, gt_kpts: Tensor,
                 present: Tensor) -> Tensor:
        """Per-sample loss (B,) of the chosen ``covariance`` for the
        residual ``means - gt_kpts`` ((B, K, 2) heatmap pixels) over the
        ``present`` (B, K) joints."""
        residual = out.means - gt_kpts.reshape(out.means.shape)
        if self.covariance in ('tic', 'nll'):
            return gaussian_nll(residual, out.cov, present)
        var = out.cov.diagonal(dim1=-2, dim2=-1)
        if self.covariance == 'diagonal':
            return diagonal_gaussian_nll(residual, var, present)
        if self.covariance == 'beta_nll':
            return beta_nll(residual, var, self.beta_nll_beta, present)
        return faithful_loss(residual, out.cov, present)

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Losses ``loss_nll``, ``loss_mean``, ``loss_map`` and
        ``loss_presence`` (class docstring), and the mean error of the present joints in heatmap
        pixels (``err_mean``, logged)."""
        out = self.forward(feats)
        gt = self._gather_labels(batch_data_samples)
        gt_kpts = gt['keypoint_labels'].to(out.means)
        present = gt['keypoint_weights'] > 0
        weights = present.to(out.means)
        nll = self.nll_loss(out, gt_kpts, present)
        err = (out.means.reshape(gt_kpts.shape) - gt_kpts).pow(2).sum(-1)
        err = torch.where(present, err, torch.ones_like(err)).sqrt()
        losses = dict(
            loss_nll=self.nll_loss_weight * nll.mean(),
            loss_presence=self.presence_loss_module(
                out.presence_logits, gt['keypoints_in_window'],
                gt['presence_weights']))
        mean_err = weighted_mean(err, weights)
        if self.mean_loss_weight > 0:
            losses['loss_mean'] = self.mean_loss_weight * mean_err
        if self.map_loss_weight > 0:
            # absent joints' labels may lie anywhere: centre them at 0 and
            # drop their terms (0 * inf would be NaN)
            centres = torch.where(present[..., None], gt_kpts,
                                  torch.zeros_like(gt_kpts))
            target = discrete_gaussian_maps(
                centres, self.decoder.heatmap_size, self.map_sigma)
            kl = map_kl_divergence(target, out.log_prob)
            kl = torch.where(present, kl, torch.zeros_like(kl))
            losses['loss_map'] = self.map_loss_weight * weighted_mean(
                kl, weights)
        losses['err_mean'] = mean_err.detach()
        return losses

    # -------------------------------------------------------------- predict
    def _flip_back(self, means: Tensor, cov: Tensor, presence: Tensor,
                   flip_indices: Sequence[int]
                   ) -> Tuple[Tensor, Tensor, Tensor]:
        """Means (B, K, 2), covariances (B, 2K, 2K) and presence (B, K) of
        a horizontally flipped input, in the original input's frame (heatmap
        pixels: ``x -> W - 1 - x`` on the UDP grid, left/right swapped)."""
        index = list(flip_indices)
        w = self.decoder.heatmap_size[0]
        means = means[:, index].clone()
        means[..., 0] = (w - 1) - means[..., 0]
        return (means, flip_full_covariances(cov, index),
                presence[:, index])

    def _input_factors(self) -> Tensor:
        """Input pixels per heatmap pixel ``(f_x, f_y)`` of the codec (the
        inverse of :func:`heatmap_affine`'s scale)."""
        scale, _ = heatmap_affine(self.decoder.input_size,
                                  self.decoder.heatmap_size)
        return torch.as_tensor(1.0 / scale, dtype=torch.float32)

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Predict keypoints with their joint covariance.

        With ``flip_test`` (``feats`` is then ``(feats, feats_flipped)``)
        the flipped pass is mapped back (means mirrored and left/right
        swapped, covariances by :func:`flip_full_covariances`, presence
        swapped) and the two passes are averaged: means, covariances (the
        plain average, not the mixture's moments: the spread between the two
        passes is not added) and presence probabilities. Swapping the two
        passes therefore mirrors the result exactly.

        ``test_cfg.keypoint_score`` picks ``keypoint_scores`` (which
        MMPose's COCO metric averages into the instance score that ranks
        the detections): ``'expected_oks'`` (default) = presence times the
        expected OKS of the keypoint under its predicted 2x2 Gaussian for
        the codec's nominal OKS kernel
        (:func:`~probpose_ext.ops.gaussian.gaussian_expected_oks`, so
        confident instances rank first), or ``'presence'``.

        Returns:
            list[InstanceData]: ``keypoints`` (1, K, 2) in input pixels,
            ``keypoint_scores`` (1, K) (above), ``keypoints_visible`` =
            ``keypoint_presence`` (1, K) presence probabilities,
            ``keypoints_cov_full`` (1, 2K, 2K) and ``keypoints_cov``
            (1, K, 2, 2) in input pixels^2 (the heatmap-pixel covariance
            scaled by the input/heatmap factors; ProbPoseEstimator maps
            them to the image).
        """
        with torch.no_grad():
            if test_cfg.get('flip_test', False):
                feats_orig, feats_flip = feats
                out, out_f = self.forward(feats_orig), self.forward(feats_flip)
                k = out.presence_logits.shape[1]
                m_f, c_f, p_f = self._flip_back(
                    out_f.means.reshape(-1, k, 2), out_f.cov,
                    torch.sigmoid(out_f.presence_logits.float()),
                    batch_data_samples[0].metainfo['flip_indices'])
                means = 0.5 * (out.means.reshape(-1, k, 2) + m_f)
                cov = 0.5 * (out.cov + c_f)
                presence = 0.5 * (
                    torch.sigmoid(out.presence_logits.float()) + p_f)
            else:
                out = self.forward(feats)
                k = out.presence_logits.shape[1]
                means = out.means.reshape(-1, k, 2)
                cov = out.cov
                presence = torch.sigmoid(out.presence_logits.float())
            score = test_cfg.get('keypoint_score', 'expected_oks')
            if score == 'expected_oks':
                variance = self.decoder.decode_variance().to(cov.device)
                scores = presence * gaussian_expected_oks(
                    covariance_blocks(cov.float()), variance.float())
            elif score == 'presence':
                scores = presence
            else:
                raise ValueError("test_cfg.keypoint_score must be "
                                 f"'expected_oks' or 'presence', got "
                                 f'{score!r}')
            sizes = (self.decoder.input_size, self.decoder.heatmap_size)
            keypoints = heatmap_to_input(means.float(), *sizes)
            cov_in = transform_full_covariances(
                cov.float(), torch.diag(self._input_factors().to(cov.device)))
            return pack_instances(
                keypoints,
                dict(keypoint_scores=scores,
                     keypoints_visible=presence,
                     keypoint_presence=presence,
                     keypoints_cov_full=cov_in,
                     keypoints_cov=covariance_blocks(cov_in)))
