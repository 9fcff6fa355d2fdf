"""Per-sample Jacobian of a batched function, for TIC covariances.

TIC-TAC (Shukla et al., ICML 2024) builds the covariance of the 2K
predicted keypoint coordinates from ``J J^T`` (plus other terms), where
``J`` (2K x Z) is the Jacobian of the predicted pose with respect to a
low-dimensional bottleneck ``z`` of the network. :func:`output_jacobian`
computes ``J`` for every sample of a batch with
``torch.func.vmap(torch.func.jacrev(...))``: reverse mode, one
vector-Jacobian product per output coordinate, vectorised over both the
outputs and the batch.

The Jacobian is returned **detached**: as in the authors' implementation,
gradients do not flow through ``J`` (the covariance's scale factors and the
auxiliary network are trained on top of a fixed ``J``; differentiating
through ``J`` would need second derivatives of the network, and the NLL
would then also train the mean predictor through its own Jacobian). The
computation therefore runs under ``torch.no_grad`` for the parameters (the
transforms still differentiate with respect to ``z``), so no graph is kept.

Requirements on ``fn``:

- it maps an (M, Z) batch to an (M, D) batch (``M = 1`` is used: each
  sample is passed alone, as a batch of one) and is **per-sample
  independent**: sample ``i``'s output depends on sample ``i``'s input
  only. Batch statistics break this: no BatchNorm in training mode
  (``model.eval()`` first, or use LayerNorm/GroupNorm), no in-batch
  attention or pooling over the batch axis;
- it is a closure over modules (their parameters are ordinary constants
  under the transforms: no ``functional_call`` is needed) and uses only
  operations ``torch.func`` supports (no in-place updates of captured
  tensors, no ``.item()`` or data-dependent Python control flow on ``z``);
- it is deterministic (dropout in eval mode), otherwise ``J`` is the
  Jacobian of one random draw.

Note:
    - N: number of samples
    - Z: bottleneck (input) dimension
    - D: output dimension (2K for K keypoints)
"""
from typing import Callable, Optional

import torch
from torch import Tensor
from torch.func import jacrev, vmap

__all__ = ['output_jacobian', 'tanh_mlp_jacobian']


def output_jacobian(fn: Callable[[Tensor], Tensor],
                    z: Tensor,
                    chunk_size: Optional[int] = None) -> Tensor:
    """Jacobian of ``fn``'s output with respect to its input, per sample.

    ``J[i] = d fn(z)[i] / d z[i]``, computed as
    ``vmap(jacrev(lambda z_i: fn(z_i[None])[0]))(z)`` and returned
    detached (module docstring: requirements on ``fn`` and why detached).

    Note:
        - N: number of samples
        - Z: input dimension
        - D: output dimension

    Args:
        fn (Callable[[Tensor], Tensor]): Batched function (M, Z) -> (M, D),
            per-sample independent, e.g. the head layers after the
            bottleneck as a closure.
        z (Tensor): Inputs in shape (N, Z), floating. Not modified; its
            own graph (if any) is not used.
        chunk_size (int, optional): Samples per vectorised chunk
            (``vmap``'s ``chunk_size``) to bound memory. Defaults to None
            (all at once).

    Returns:
        Tensor: Detached Jacobians in shape (N, D, Z), in ``fn``'s output
        dtype, on ``z``'s device.
    """
    if not isinstance(z, Tensor):
        raise TypeError(f'z must be a Tensor, got {type(z)}')
    if z.dim() != 2 or not z.is_floating_point():
        raise ValueError('z must be a floating tensor of shape (N, Z), got '
                         f'{z.dtype} {tuple(z.shape)}')

    def single(z_i: Tensor) -> Tensor:
        out = fn(z_i.unsqueeze(0))
        if not isinstance(out, Tensor) or out.dim() != 2 \
                or out.shape[0] != 1:
            shape = tuple(out.shape) if isinstance(out, Tensor) else \
                type(out)
            raise ValueError('fn must map a (M, Z) batch to a (M, D) '
                             f'batch; for M = 1 it returned {shape}')
        return out[0]

    with torch.no_grad():
        jac = vmap(jacrev(single), chunk_size=chunk_size)(z.detach())
    return jac.detach()


def tanh_mlp_jacobian(z: Tensor, weight1: Tensor, bias1: Tensor,
                      weight2: Tensor) -> Tensor:
    """Closed-form per-sample Jacobian of ``W2 tanh(W1 z + b1) + b2`` (a
    Linear-Tanh-Linear block such as :class:`TICHead`'s refinement).

    ``J[n] = W2 diag(1 - tanh(W1 z_n + b1)^2) W1``: the same values as
    :func:`output_jacobian` on that block, without ``torch.func``'s
    transforms, so it traces for export (``torch.export`` / ONNX) and costs
    two matrix products. Not detached: callers that need a constant ``J``
    detach it (or call it under ``torch.no_grad``).

    Note:
        - N: number of samples
        - Z: input dimension
        - R: hidden dimension
        - D: output dimension

    Args:
        z (Tensor): Inputs (N, Z).
        weight1 (Tensor): First layer's weight (R, Z).
        bias1 (Tensor): First layer's bias (R,).
        weight2 (Tensor): Second layer's weight (D, R).

    Returns:
        Tensor: Jacobians (N, D, Z).
    """
    if z.dim() != 2 or weight1.dim() != 2 or weight2.dim() != 2 or \
            weight1.shape[1] != z.shape[1] or \
            weight2.shape[1] != weight1.shape[0] or \
            tuple(bias1.shape) != (weight1.shape[0], ):
        raise ValueError(
            'shapes must be z (N, Z), weight1 (R, Z), bias1 (R,), weight2 '
            f'(D, R), got {tuple(z.shape)}, {tuple(weight1.shape)}, '
            f'{tuple(bias1.shape)}, {tuple(weight2.shape)}')
    slope = 1 - torch.tanh(z @ weight1.t() + bias1).pow(2)  # (N, R)
    return (weight2.unsqueeze(0) * slope.unsqueeze(1)) @ weight1
