"""Depth-uncertainty head for 3-D pose lifting: MMPose's temporal
regression of root-relative joints plus a per-joint Gaussian of the
root-relative depth (or of the whole 3-D offset).

The maths lives in :mod:`probpose_ext.ops.depth_uncertainty` and the loss
in :class:`~probpose_ext.models.losses.DepthGaussianNLLLoss`; this module is
the glue of the network parts.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor, nn

from ...ops.depth_uncertainty import tril_from_params
from ..utils import check_decoder_type

#: the ``mode`` options
MODES = ('depth', 'xyz')


@MODELS.register_module()
class DepthUncertaintyHead(BaseHead):
    """Temporal regression head with per-joint depth uncertainty.

    Network: ``feats[-1]`` (B, C, 1) goes through two 1x1 ``Conv1d``:
    ``conv`` (as MMPose's ``TemporalRegressionHead``, same name so its
    weights load) to the K x 3 root-relative camera-frame coordinates
    (metres), and ``uncertainty_conv`` to

    * ``mode='depth'``: K log-variances ``log sigma_z^2`` of the
      root-relative depth, clamped to ``log_var_range`` (the gradient is
      zero outside it; the bias starts at ``2 log init_std``), trained with
      the 1-D Gaussian NLL on the z coordinate;
    * ``mode='xyz'``: the full 3x3 Gaussian per joint over the root-relative
      camera-frame offset ``(x, y, z)`` (metres), as 6 numbers per joint
      turned into a lower Cholesky factor ``L`` by
      :func:`~probpose_ext.ops.depth_uncertainty.tril_from_params`
      (diagonal ``softplus + min_std``, initially ``init_std``), trained
      with the trivariate NLL.

    About the "2.5D" variant: the Gaussian is over the camera-frame
    ``(x, y, z)``, **not** over image coordinates and depth ``(u, v, d)``.
    The codec's outputs are root-relative metres and the (u, v) of a joint
    depends on the unknown absolute depth (``u = f x / Z``), so a (u, v, d)
    covariance would need the camera and the root trajectory; whoever has
    them maps ``Sigma_xyz`` by the projection's Jacobian
    (``J Sigma J^T``). The z marginal is the depth Gaussian of
    ``mode='depth'``.

    Losses: ``loss_pose3d`` = ``loss`` (default MMPose ``MPJPELoss``) on the
    3-D coordinates; ``loss_depth`` = ``depth_loss_weight`` times
    ``depth_loss`` (default :class:`DepthGaussianNLLLoss`, ``form='nll'``)
    on the z coordinate (``'depth'``) or the 3-D offset (``'xyz'``), over
    the joints with ``lifting_target_weight > 0`` except the root joint
    when the codec zero-centres on one joint without removing it (its
    target is 0 by construction); ``mpjpe``: the training MPJPE (not a
    loss, as MMPose's head).

    Predictions (``predict``; one ``InstanceData`` per sample, N = 1):

    * ``keypoints`` (N, K, 3) and ``keypoint_scores`` (N, K): as
      ``TemporalRegressionHead`` (codec decode, plus ``target_root``);
    * ``keypoint_depth_std`` (N, K), metres: the standard deviation of each
      joint's root-relative depth (``'xyz'``: ``sqrt(Sigma_zz)``), times
      ``std_scale``; 0 at the root joint (fixed by construction); with a
      ``fixed_sigma`` loss (the phase-1 baseline) that sigma;
    * ``keypoints_cov3d`` (N, K, 3, 3), metres^2 (``'xyz'`` only): the
      covariance of the root-relative offset, times ``std_scale^2``; zero
      at the root joint.

    K counts the joints of the decoded pose: with ``remove_root=True`` the
    network predicts K - 1 joints and the root's entries are inserted.
    ``std_scale`` is for the ``'proposal'`` loss form, whose optimum
    over-states the spread by ``sqrt(2)``: set ``std_scale=1/sqrt(2)`` to
    report a calibrated std. Test-time flip (``test_cfg.flip_test``) is not
    supported, as in ``TemporalRegressionHead``.

    Note:
        - B: batch size
        - C: channels of ``feats[-1]``
        - K: number of joints (output of the network)

    Args:
        in_channels (int): C.
        num_joints (int): K, joints predicted by the network.
        mode (str): ``'depth'`` or ``'xyz'``. Defaults to ``'depth'``.
        loss (dict): Loss of the 3-D coordinates, called as ``loss(pred,
            target, weight[..., None])``. Defaults to ``MPJPELoss`` with
            target weights.
        depth_loss (dict): Uncertainty loss, called as ``loss(mean,
            uncertainty, target, weight)``. Defaults to
            ``DepthGaussianNLLLoss``.
        depth_loss_weight (float): Weight of ``loss_depth``. Defaults to 1.
        log_var_range (tuple[float, float]): Clamp of the log-variance
            (``'depth'``), log metres^2. Defaults to (-12, 4).
        min_std (float): Floor of the Cholesky diagonal (``'xyz'``),
            metres. Defaults to 1e-3.
        init_std (float): Initial standard deviation, metres. Defaults to
            0.1.
        std_scale (float): Factor on the reported std (see above).
            Defaults to 1.
        decoder (dict, optional): The ``VideoPoseLifting`` codec config.
        init_cfg (dict, optional): Initialisation config.
    """

    codec_types: Tuple[str, ...] = ('VideoPoseLifting', 'ImagePoseLifting')

    def __init__(self,
                 in_channels: int,
                 num_joints: int,
                 mode: str = 'depth',
                 loss: ConfigType = dict(
                     type='MPJPELoss', use_target_weight=True),
                 depth_loss: ConfigType = dict(type='DepthGaussianNLLLoss'),
                 depth_loss_weight: float = 1.0,
                 log_var_range: Sequence[float] = (-12.0, 4.0),
                 min_std: float = 1e-3,
                 init_std: float = 0.1,
                 std_scale: float = 1.0,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if mode not in MODES:
            hint = (' (the 2.5D variant is mode="xyz": a 3x3 Gaussian over '
                    'the root-relative camera-frame offset; see the class '
                    'docstring)') if mode == 'uvd' else ''
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}'
                             f'{hint}')
        lo, hi = (float(v) for v in log_var_range)
        if not lo < hi:
            raise ValueError(f'log_var_range must be (low, high) with low < '
                             f'high, got {log_var_range}')
        if not (0 < min_std < init_std) or not std_scale > 0 or \
                depth_loss_weight < 0:
            raise ValueError(
                'need 0 < min_std < init_std, std_scale > 0 and '
                f'depth_loss_weight >= 0, got {min_std}, {init_std}, '
                f'{std_scale}, {depth_loss_weight}')
        check_decoder_type(type(self).__name__, decoder, self.codec_types)
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.mode = mode
        self.log_var_range = (lo, hi)
        self.min_std = float(min_std)
        self.init_std = float(init_std)
        self.std_scale = float(std_scale)
        self.depth_loss_weight = float(depth_loss_weight)
        self.loss_module = MODELS.build(loss)
        self.depth_loss_module = MODELS.build(depth_loss)
        self.decoder = KEYPOINT_CODECS.build(decoder) \
            if decoder is not None else None
        self.conv = nn.Conv1d(in_channels, num_joints * 3, 1)
        per_joint = 1 if mode == 'depth' else 6
        self.uncertainty_conv = nn.Conv1d(in_channels, num_joints * per_joint,
                                          1)
        self._init_uncertainty()

    @property
    def default_init_cfg(self):
        return [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    def _init_uncertainty(self) -> None:
        """Small weights and a bias giving ``init_std`` everywhere."""
        nn.init.normal_(self.uncertainty_conv.weight, std=1e-3)
        with torch.no_grad():
            if self.mode == 'depth':
                lo, hi = self.log_var_range
                self.uncertainty_conv.bias.fill_(
                    min(max(2.0 * math.log(self.init_std), lo), hi))
            else:
                # softplus^-1(init_std - min_std) on the diagonal entries
                d = self.init_std - self.min_std
                bias = torch.zeros(self.num_joints, 6)
                bias[:, :3] = d + math.log(-math.expm1(-d))
                self.uncertainty_conv.bias.copy_(bias.reshape(-1))

    def init_weights(self) -> None:
        super().init_weights()
        self._init_uncertainty()

    # ------------------------------------------------------------ network
    def forward(self, feats: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """Coordinates and their uncertainty.

        Args:
            feats (Tuple[Tensor]): Backbone features; the last is (B, C, 1).

        Returns:
            tuple:
            - coords (Tensor): Root-relative coordinates (B, K, 3), metres.
            - uncertainty (Tensor): ``'depth'``: the clamped log-variances
              of the depth (B, K); ``'xyz'``: the lower Cholesky factors
              (B, K, 3, 3) of the offset's covariance, metres.
        """
        x = feats[-1]
        coords = self.conv(x).reshape(-1, self.num_joints, 3)
        raw = self.uncertainty_conv(x)
        if self.mode == 'depth':
            unc = raw.reshape(-1, self.num_joints).clamp(*self.log_var_range)
        else:
            unc = tril_from_params(
                raw.reshape(-1, self.num_joints, 6).float(), self.min_std)
        return coords, unc

    def _root_index(self) -> Optional[int]:
        """The single root joint of a zero-centring codec, else None."""
        dec = self.decoder
        if dec is None or not getattr(dec, 'zero_center', True) or \
                len(dec.root_index) != 1:
            return None
        return int(dec.root_index[0])

    def _std_and_cov(self, unc: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Depth std (B, K) and (``'xyz'``) covariance (B, K, 3, 3) of the
        network's K joints, scaled by ``std_scale``."""
        unc = unc.detach().float()
        fixed = getattr(self.depth_loss_module, 'fixed_sigma', None)
        if fixed is not None:  # the phase-1 baseline: the sigma it assumes
            std = torch.full(unc.shape[:2], float(fixed) * self.std_scale)
            cov = None if self.mode == 'depth' else torch.diag_embed(
                std[..., None].expand(*std.shape, 3)**2)
            return std, cov
        if self.mode == 'depth':
            return self.std_scale * torch.exp(0.5 * unc), None
        cov = unc @ unc.transpose(-1, -2) * self.std_scale**2
        return cov[..., 2, 2].sqrt(), cov

    def predict(self,
                feats: Tuple[Tensor],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Decode coordinates and attach the depth uncertainty.

        Args:
            feats (Tuple[Tensor]): Backbone features, the last (B, C, 1).
            batch_data_samples (list[PoseDataSample]): B samples with
                ``metainfo['target_root']``.
            test_cfg (dict): Unused.

        Returns:
            list[InstanceData]: B items with ``keypoints`` (1, K, 3),
            ``keypoint_scores`` (1, K), ``keypoint_depth_std`` (1, K) metres
            and, in ``'xyz'`` mode, ``keypoints_cov3d`` (1, K, 3, 3)
            metres^2 (K of the decoded pose).
        """
        if isinstance(feats, list):
            raise NotImplementedError(
                f'{type(self).__name__} does not support flip_test')
        coords, unc = self.forward(feats)
        if batch_data_samples[0].metainfo.get('target_root',
                                              None) is not None:
            target_root = torch.stack([
                torch.from_numpy(np.asarray(b.metainfo['target_root']))
                for b in batch_data_samples
            ])
        else:
            target_root = torch.stack([
                torch.empty((0), dtype=torch.float32)
                for _ in batch_data_samples
            ])
        preds = self.decode((coords, target_root))
        std, cov = self._std_and_cov(unc)
        std, cov = to_numpy(std), None if cov is None else to_numpy(cov)
        root = self._root_index()
        if root is not None and self.decoder.remove_root:
            std = np.insert(std, root, 0.0, axis=1)
            if cov is not None:
                cov = np.insert(cov, root, 0.0, axis=1)
        elif root is not None:
            std[:, root] = 0.0
            if cov is not None:
                cov[:, root] = 0.0
        for i, pred in enumerate(preds):
            pred.keypoint_depth_std = std[i:i + 1].astype(np.float32)
            if cov is not None:
                pred.keypoints_cov3d = cov[i:i + 1].astype(np.float32)
        return preds

    # --------------------------------------------------------------- loss
    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Losses of a batch (see the class docstring).

        Args:
            inputs (Tuple[Tensor]): Backbone features, the last (B, C, 1).
            batch_data_samples (list[PoseDataSample]): B samples with
                ``gt_instance_labels.lifting_target_label`` (1, K, 3) and
                ``lifting_target_weight`` (1, K).
            train_cfg (dict): Unused.

        Returns:
            dict[str, Tensor]: ``loss_pose3d``, ``loss_depth``, ``mpjpe``.
        """
        coords, unc = self.forward(inputs)
        target = torch.cat([
            d.gt_instance_labels.lifting_target_label
            for d in batch_data_samples
        ]).to(coords)
        weight = torch.cat([
            d.gt_instance_labels.lifting_target_weight
            for d in batch_data_samples
        ]).to(coords)
        losses = dict(loss_pose3d=self.loss_module(coords, target,
                                                   weight.unsqueeze(-1)))
        depth_weight = weight
        root = self._root_index()
        if root is not None and not self.decoder.remove_root:
            depth_weight = weight.clone()
            depth_weight[:, root] = 0
        if self.mode == 'depth':
            depth = self.depth_loss_module(coords[..., 2], unc,
                                           target[..., 2], depth_weight)
        else:
            depth = self.depth_loss_module(coords, unc, target, depth_weight)
        losses['loss_depth'] = self.depth_loss_weight * depth
        mpjpe = keypoint_mpjpe(
            pred=to_numpy(coords),
            gt=to_numpy(target),
            mask=to_numpy(weight) > 0)
        losses['mpjpe'] = torch.tensor(mpjpe, device=coords.device)
        return losses
