"""OKS expected-risk loss of ProbPose probability maps (DESIGN.md 4.3).

With a probability map P over the heatmap pixels and the OKS map
T(x) = exp(-|x - g|^2 / (2 v)) of the ground-truth location g (v: the OKS
variance of that keypoint in heatmap pixels, see :mod:`probpose_ext.ops.oks`),
the expected risk of predicting a location drawn from P is

    risk = sum_x P(x) (1 - T(x)) = 1 - E_P[OKS],

and the training loss adds a smoothness regulariser, the energy of the
Sobel gradients of P:

    loss = (1 - alpha) * risk + alpha * sum_x (|S_x * P|^2 + |S_y * P|^2).

The Sobel kernels are the standard un-normalised 3x3 ones
(``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` and its transpose) with zero
padding: probability outside the map is zero, so a keypoint's mass at the
border is penalised like anywhere else.
"""
import functools
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ._checks import check_maps
from ._precision import full_precision, upcast

Reduction = str


def _axis_gaussians(keypoints: Tensor, variance: Tensor, width: int,
                    height: int):
    """Per-axis factors of the OKS map: (N, K, W) and (N, K, H)."""
    var = variance.to(keypoints.dtype).clamp_min(
        torch.finfo(keypoints.dtype).tiny).expand(keypoints.shape[:2])
    xs = torch.arange(width, dtype=keypoints.dtype, device=keypoints.device)
    ys = torch.arange(height, dtype=keypoints.dtype, device=keypoints.device)
    gx = torch.exp(-(xs - keypoints[..., :1])**2 / (2 * var[..., None]))
    gy = torch.exp(-(ys - keypoints[..., 1:])**2 / (2 * var[..., None]))
    return gx, gy


def oks_target_map(keypoints: Tensor, variance: Union[Tensor, float],
                   heatmap_size: Sequence[int]) -> Tensor:
    """OKS of every heatmap pixel w.r.t. the ground-truth locations.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        keypoints (Tensor): Ground truth ``(x, y)`` in heatmap pixel
            coordinates (pixel centres at integers) in shape (N, K, 2).
        variance (Tensor | float): OKS variances in heatmap pixels^2,
            broadcastable to (N, K).
        heatmap_size (Sequence[int]): ``(W, H)``.

    Returns:
        Tensor: ``T`` in shape (N, K, H, W), values in (0, 1], peak 1 at the
        ground truth.
    """
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    variance = torch.as_tensor(variance, device=keypoints.device)
    gx, gy = _axis_gaussians(keypoints, variance, width, height)
    return gy[..., :, None] * gx[..., None, :]


@full_precision
def oks_risk(prob: Tensor, keypoints: Tensor,
             variance: Union[Tensor, float]) -> Tensor:
    """Expected risk ``1 - E_P[OKS]`` of each probability map.

    Computed without materialising the OKS maps: the map is separable, so
    ``E_P[OKS] = sum_{y,x} P[y, x] T_y[y] T_x[x]``.

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W).
        keypoints (Tensor): Ground truth in heatmap pixels, (N, K, 2).
        variance (Tensor | float): OKS variances, broadcastable to (N, K).

    Returns:
        Tensor: The risk in shape (N, K), in [0, 1] for normalised maps;
        float32 for float16 / bfloat16 maps (computed in float32, also
        under ``torch.autocast``).
    """
    prob = upcast(prob)
    height, width = prob.shape[-2:]
    variance = torch.as_tensor(variance, device=prob.device)
    gx, gy = _axis_gaussians(keypoints.to(prob.dtype), variance, width,
                             height)
    expected_oks = torch.einsum('nkhw,nkh,nkw->nk', prob, gy, gx)
    return 1.0 - expected_oks


@functools.lru_cache(maxsize=32)
def _sobel_gram(size: int, dtype: torch.dtype,
                device: torch.device) -> Tuple[Tensor, Tensor]:
    """Gram matrices of the 1-D Sobel factors along an axis of ``size``
    pixels with zero padding.

    The 3x3 Sobel kernels are separable: ``S_x = [1, 2, 1]^T [-1, 0, 1]``
    (smoothing along H, central difference along W) and ``S_y`` its
    transpose. As matrices acting on one axis of a map, with zero padding,
    the smoothing is ``C = 2 I + U + U^T`` and the difference
    ``D = U - U^T`` (``U`` the superdiagonal shift), so that
    ``S_x P = C_H P D_W^T`` and ``S_y P = D_H P C_W^T``.

    Returns:
        tuple[Tensor, Tensor]: ``C^T C`` and ``D^T D``, each (size, size).
    """
    shift = torch.ones(size - 1, dtype=torch.float64, device=device).diag(1)
    smooth = 2 * torch.eye(size, dtype=torch.float64, device=device) + \
        shift + shift.T
    diff = shift - shift.T
    return (smooth.T @ smooth).to(dtype), (diff.T @ diff).to(dtype)


def _sobel_normal(prob: Tensor) -> Tensor:
    """``Q = (S_x^T S_x + S_y^T S_y) P`` for each map.

    The Sobel energy is the quadratic form ``E(P) = <P, Q>`` and its
    gradient is ``2 Q``. With the Gram matrices of :func:`_sobel_gram`,
    ``Q = (C^T C)_H P (D^T D)_W + (D^T D)_H P (C^T C)_W``: two matrix
    products, one per axis (both terms at once), instead of a one-channel
    ``conv2d`` and its slow backward pass on CPU.

    Args:
        prob (Tensor): Maps in shape (N, K, H, W).

    Returns:
        Tensor: ``Q`` in shape (N, K, H, W).
    """
    n, k, height, width = prob.shape
    smooth_h, diff_h = _sobel_gram(height, prob.dtype, prob.device)
    smooth_w, diff_w = _sobel_gram(width, prob.dtype, prob.device)
    # (N*K*H, W) @ (W, 2W): [P (D^T D)_W | P (C^T C)_W] per row of a map
    right = prob.reshape(-1, width) @ torch.cat([diff_w, smooth_w], dim=1)
    right = right.view(n * k, height, 2, width).transpose(1, 2).reshape(
        n * k, 2 * height, width)
    # (H, 2H) @ (2H, W) per map: (C^T C)_H P (D^T D)_W + (D^T D)_H P (C^T C)_W
    left = torch.cat([smooth_h, diff_h], dim=1)
    return torch.matmul(left, right).view(n, k, height, width)


class _SobelEnergy(torch.autograd.Function):
    """Sobel energy ``E(P) = <P, Q(P)>`` with the closed-form gradient
    ``2 Q(P)`` (see :func:`_sobel_normal`).

    The backward pass reuses ``Q`` from the forward pass; under
    ``create_graph`` it recomputes ``Q`` from the input with differentiable
    operations, so that double backward is correct too.
    """

    @staticmethod
    def forward(ctx, prob: Tensor) -> Tensor:
        normal = _sobel_normal(prob)
        ctx.save_for_backward(prob, normal)
        return (prob * normal).sum(dim=(-2, -1))

    @staticmethod
    def backward(ctx, grad_energy: Tensor) -> Tensor:
        prob, normal = ctx.saved_tensors
        if torch.is_grad_enabled():
            normal = _sobel_normal(prob)
        return normal * (2 * grad_energy)[..., None, None]


@full_precision
def sobel_energy(prob: Tensor) -> Tensor:
    """Energy of the Sobel gradients of each map.

    Computed as the quadratic form ``<P, (S_x^T S_x + S_y^T S_y) P>`` with
    per-axis matrix products (see :func:`_sobel_normal`), not with
    ``conv2d``; the value is that of convolving with the two 3x3 kernels.

    Args:
        prob (Tensor): Maps in shape (N, K, H, W).

    Returns:
        Tensor: ``sum_x (S_x * P)^2 + (S_y * P)^2`` in shape (N, K), with
        zero padding at the borders; float32 for float16 / bfloat16 maps.
    """
    check_maps(prob)
    return _SobelEnergy.apply(upcast(prob))


@full_precision
def oks_risk_loss(prob: Tensor,
                  keypoints: Tensor,
                  variance: Union[Tensor, float],
                  weights: Optional[Tensor] = None,
                  alpha: float = 0.05,
                  reduction: Reduction = 'mean') -> Tensor:
    """ProbPose's per-pixel OKS expected-risk loss with Sobel smoothness.

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W) (sparsemax
            output: non-negative, each map sums to 1).
        keypoints (Tensor): Ground truth in heatmap pixels, (N, K, 2).
        variance (Tensor | float): OKS variances in heatmap pixels^2,
            broadcastable to (N, K).
        weights (Tensor, optional): Per-keypoint weights (N, K); 0 for
            keypoints that must not train the map (unannotated, or outside
            the activation window). Defaults to all ones.
        alpha (float): Weight of the smoothness term, in [0, 1].
        reduction (str): ``'none'`` (N, K), ``'sum'``, or ``'mean'``: the
            weighted sum divided by the sum of the weights (0 when every
            weight is 0).

    Returns:
        Tensor: The loss, reduced as requested; computed and returned in
        float32 for float16 / bfloat16 maps, also under ``torch.autocast``
        (float64 maps stay float64).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    if prob.dim() != 4 or keypoints.shape != (*prob.shape[:2], 2):
        raise ValueError(
            'prob must be (N, K, H, W) and keypoints (N, K, 2), got '
            f'{tuple(prob.shape)} and {tuple(keypoints.shape)}')
    loss = (1.0 - alpha) * oks_risk(prob, keypoints, variance)
    if alpha > 0:
        loss = loss + alpha * sobel_energy(prob)
    if weights is not None:
        loss = loss * weights.to(loss.dtype)
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'mean':
        total = (weights.to(loss.dtype).sum()
                 if weights is not None else loss.new_tensor(loss.numel()))
        return loss.sum() / total.clamp_min(1.0)
    raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got "
                     f'{reduction!r}')
