"""Registered adapter of :mod:`probpose_ext.ops.depth_uncertainty` (the
depth / 3-D uncertainty loss of
:class:`~probpose_ext.models.heads.DepthUncertaintyHead`)."""
import math
from typing import Optional

import torch
from mmpose.registry import MODELS
from torch import Tensor, nn

from ...ops.bce import weighted_mean
from ...ops.depth_uncertainty import (NLL_FORMS, gaussian_nll_1d,
                                      trivariate_gaussian_nll)


@MODELS.register_module()
class DepthGaussianNLLLoss(nn.Module):
    """Gaussian negative log-likelihood of per-joint depths (1-D) or 3-D
    offsets (full 3x3 covariance), averaged over the weighted joints.

    Two input layouts, told apart by the shape of ``uncertainty``:

    * 1-D (per-joint root-relative depth): ``pred`` and ``target`` (B, K),
      ``uncertainty`` the log-variances ``log sigma^2`` (B, K);
      :func:`~probpose_ext.ops.depth_uncertainty.gaussian_nll_1d`.
    * 3-D: ``pred`` and ``target`` (B, K, 3), ``uncertainty`` the lower
      Cholesky factors ``L`` (B, K, 3, 3) of ``Sigma = L L^T``;
      :func:`~probpose_ext.ops.depth_uncertainty.trivariate_gaussian_nll`.

    ``form='nll'`` is the Gaussian NLL (calibrated optimum ``sigma =
    |y - mu|``); ``form='proposal'`` is the proposal's Eq. 1, ``ln sigma +
    (y - mu)^2 / sigma^2``, whose optimum is ``sigma = sqrt(2) |y - mu|``
    (its sigma over-states the spread by ``sqrt(2)``).

    ``fixed_sigma`` gives the phase-1 baseline: the same loss with the
    constant ``sigma`` (``Sigma = sigma^2 I`` in 3-D) and ``uncertainty``
    ignored (it gets no gradient), i.e. the weighted squared error over
    ``2 sigma^2`` (``sigma^2`` for ``'proposal'``) plus a constant.

    Note:
        - B: batch size
        - K: number of joints

    Args:
        form (str): ``'nll'`` or ``'proposal'``. Defaults to ``'nll'``.
        fixed_sigma (float, optional): Constant standard deviation (the
            unit of the targets, e.g. metres) replacing the predicted one.
            Defaults to None (use the prediction).
        use_target_weight (bool): Average over the joints with their
            weights (``sum(w * nll) / max(sum(w), 1)``, weights 0 drop a
            joint); otherwise a plain mean. Defaults to True.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.

    Example:
        >>> depth_loss = dict(type='DepthGaussianNLLLoss', form='nll')
        >>> baseline = dict(type='DepthGaussianNLLLoss', fixed_sigma=0.05)
    """

    def __init__(self,
                 form: str = 'nll',
                 fixed_sigma: Optional[float] = None,
                 use_target_weight: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if form not in NLL_FORMS:
            raise ValueError(f'form must be one of {NLL_FORMS}, got '
                             f'{form!r}')
        if fixed_sigma is not None and not float(fixed_sigma) > 0:
            raise ValueError(f'fixed_sigma must be > 0, got {fixed_sigma}')
        self.form = form
        self.fixed_sigma = None if fixed_sigma is None else float(fixed_sigma)
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = float(loss_weight)

    def forward(self,
                pred: Tensor,
                uncertainty: Tensor,
                target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss (in at least float32).

        Args:
            pred (Tensor): Means, (B, K) depths or (B, K, 3) offsets.
            uncertainty (Tensor): Log-variances (B, K), or Cholesky factors
                (B, K, 3, 3) for 3-D ``pred``.
            target (Tensor): Targets, the shape of ``pred``.
            target_weight (Tensor, optional): Joint weights (B, K); needed
                when ``use_target_weight``.

        Returns:
            Tensor: Scalar loss times ``loss_weight``.
        """
        dtype = torch.promote_types(pred.dtype, torch.float32)
        pred, target = pred.to(dtype), target.to(dtype)
        three_d = uncertainty.dim() == pred.dim() + 1
        if three_d:
            if pred.shape[-1:] != (3, ) or uncertainty.shape[-2:] != (3, 3):
                raise ValueError(
                    'DepthGaussianNLLLoss: 3-D pred (B, K, 3) needs '
                    f'uncertainty (B, K, 3, 3), got {tuple(pred.shape)} and '
                    f'{tuple(uncertainty.shape)}')
            if self.fixed_sigma is None:
                chol = uncertainty.to(dtype)
            else:
                chol = self.fixed_sigma * torch.eye(
                    3, dtype=dtype, device=pred.device).expand(
                        *pred.shape[:-1], 3, 3)
            nll = trivariate_gaussian_nll(pred, chol, target, self.form)
        else:
            if uncertainty.shape != pred.shape:
                raise ValueError(
                    'DepthGaussianNLLLoss: log_var must have the shape of '
                    f'pred {tuple(pred.shape)}, got '
                    f'{tuple(uncertainty.shape)}')
            if self.fixed_sigma is None:
                log_var = uncertainty.to(dtype)
            else:
                log_var = torch.full_like(pred,
                                          2.0 * math.log(self.fixed_sigma))
            nll = gaussian_nll_1d(pred, log_var, target, self.form)
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('DepthGaussianNLLLoss: use_target_weight '
                                 'needs target_weight (B, K)')
            loss = weighted_mean(nll, target_weight.to(dtype).reshape(
                nll.shape))
        else:
            loss = nll.mean()
        return self.loss_weight * loss
