"""Sparsemax: the Euclidean projection of logits onto the probability simplex.

Sparsemax (Martins & Astudillo, ICML 2016) maps logits ``z`` to

.. math::

    p = \\operatorname{argmin}_{p \\in \\Delta} \\lVert p - z \\rVert^2,
    \\qquad p_i = \\max(z_i - \\tau(z), 0),

where the threshold :math:`\\tau(z)` is the unique value with
:math:`\\sum_i p_i = 1`. Unlike softmax it gives exact zeros, which ProbPose
uses to normalise each keypoint's ``H*W`` map into a probability map.

How the threshold is found (every path is exact, not an approximation):

* Each row is first shifted by its maximum (for numerical stability), so
  ``max(z) = 0`` and ``-1 <= tau < 0``.
* **Sort path** (CUDA and other accelerators, rows shorter than
  :data:`_MIN_GROUPED`, fallback): sort descending, cumulative sum, support
  size ``k(z) = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)}`` and
  ``tau = (sum_{j<=k(z)} z_(j) - 1) / k(z)``. It has fixed shapes and no
  host-device synchronisation, but sorting is slow on CPU: about 200 ms for
  1088 rows of 3072.
* **Grouped Newton path** (CPU, rows of at least :data:`_MIN_GROUPED`):
  ``tau`` is the root of the convex, decreasing, piecewise-linear
  ``f(t) = sum_i max(z_i - t, 0) - 1``. Newton's method from any
  ``t_0 <= tau`` (Michelot's algorithm) increases monotonically, never
  overshoots, and reaches the exact root after finitely many steps (in
  practice fewer than ten), namely when the set ``{z_i > t}`` stops
  changing. Every iterate is a lower bound on ``tau``, and so is the
  threshold of any subset of the row (its top-k sums are no larger). Each
  row is therefore split into interleaved groups of :data:`_GROUP`
  elements (element ``s * G + j`` is in group ``j``, so the group maxima
  are an elementwise maximum of contiguous slices); Newton steps on the
  group maxima give a lower bound ``t_0``; only groups whose maximum
  exceeds ``t_0`` can hold support elements, and those are gathered and
  iterated on. That is a few passes over the data instead of a sort. The
  gathered shapes are data dependent (a host sync), which is why this path
  is CPU only. If it has not converged after :data:`_MAX_ITER` steps, the
  sort path is used instead.

``torch.topk`` on a bounded support was considered too: the support lies
in ``{z_i > max(z) - 1}``, so top-k with ``k`` the largest such set over
the rows is exact. But ``k`` is data dependent, is the whole row for small
logit scales, and top-k of ~100 of 3072 elements already costs more on
CPU than the whole grouped Newton path.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ._precision import autocast_active, upcast

__all__ = ['sparsemax', 'sparsemax_maps', 'sparsemax_loss', 'exporting']

#: Elements per group in the CPU grouped Newton path.
_GROUP = 8
#: Rows shorter than this use the sort path.
_MIN_GROUPED = 128
#: Newton steps before the grouped path gives up and falls back to sorting.
_MAX_ITER = 64
#: Values per row of the partial sort in exported graphs
#: (:func:`_threshold_export`); trained ProbPose maps (64x48) have supports
#: of tens to a few hundred pixels.
_EXPORT_TOPK = 512


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else is computed in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _threshold_sort(shifted: Tensor) -> Tensor:
    """Exact sparsemax threshold of each row by sorting.

    Args:
        shifted (Tensor): Logits shifted so that each row's maximum is 0,
            shape (R, D), D >= 1.

    Returns:
        Tensor: The threshold ``tau`` of each row, shape (R, 1).

    Note:
        R: number of rows; D: row length (the normalised dimension).
    """
    length = shifted.size(-1)
    ordered = torch.sort(shifted, dim=-1, descending=True).values
    cumsum = ordered.cumsum(dim=-1).sub_(1)
    ranks = torch.arange(
        1, length + 1, dtype=shifted.dtype, device=shifted.device)
    # The condition holds exactly for k = 1..k(z); clamp keeps NaN rows
    # (no k qualifies) in range so that they yield NaN, not an index error.
    support = (ordered * ranks > cumsum).sum(dim=-1, keepdim=True)
    support = support.clamp_(min=1)
    return cumsum.gather(-1, support - 1) / support.to(shifted.dtype)


def _threshold_topk(shifted: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """Sparsemax threshold of each row from its ``k`` largest values.

    The sort-based rule on the top ``k`` values only. The support condition
    ``1 + j z_(j) > sum_{i <= j} z_(i)`` holds exactly for ``j = 1..k(z)``,
    so where it fails at ``j = k`` the support is shorter than ``k`` and
    the threshold equals :func:`_threshold_sort`'s; ``inexact`` says
    whether some row's condition still holds at ``k`` (its support may be
    longer).

    Args:
        shifted (Tensor): Logits shifted so that each row's maximum is 0,
            shape (R, D), D >= k >= 1.
        k (int): Values used per row.

    Returns:
        tuple[Tensor, Tensor]: ``tau`` (R, 1) and ``inexact`` (bool scalar
        tensor).
    """
    top = torch.topk(shifted, k, dim=-1).values
    cumsum = top.cumsum(dim=-1) - 1
    ranks = torch.arange(1, k + 1, dtype=shifted.dtype, device=shifted.device)
    holds = top * ranks > cumsum
    support = holds.sum(dim=-1, keepdim=True).clamp(min=1)
    tau = cumsum.gather(-1, support - 1) / support.to(shifted.dtype)
    return tau, holds[:, -1].any()


def _threshold_export(shifted: Tensor) -> Tensor:
    """The threshold traced into an exported graph (``torch.export`` /
    dynamo ONNX): :func:`_threshold_topk` with :data:`_EXPORT_TOPK` values,
    and, only when a row's support may be longer, the full sort (a
    ``torch.cond``, an ONNX ``If``). Exact in both branches; a full sort
    of 3072-pixel maps cost ONNX Runtime about 3x a partial one, a third
    of a ProbPose-DH network at batch 32."""
    if shifted.size(-1) <= _EXPORT_TOPK:
        return _threshold_sort(shifted)
    tau, inexact = _threshold_topk(shifted, _EXPORT_TOPK)
    return torch.cond(inexact, lambda t, x: _threshold_sort(x),
                      lambda t, x: t.clone(), (tau, shifted))


def _newton_threshold(values: Tensor, rows: Optional[Tensor], tau: Tensor,
                      max_iter: int) -> Tuple[Tensor, bool]:
    """Newton (Michelot) iterations for the thresholds of segmented rows.

    Each problem row is the union of the segments (columns of ``values``)
    that ``rows`` assigns to it. Starting from lower bounds, repeat
    ``tau <- tau + f(tau) / #{v > tau}`` with
    ``f(t) = sum_i max(v_i - t, 0) - 1`` until no row's set ``{v > tau}``
    changes.

    Args:
        values (Tensor): Segment values, one segment per column, shape
            (W, B). Columns along contiguous memory are fastest.
        rows (Tensor, optional): Problem row of each segment, int64, shape
            (B,). None means one segment per row (B == R).
        tau (Tensor): Initial lower bounds on the thresholds, shape (R,).
        max_iter (int): Maximum number of Newton steps.

    Returns:
        tuple[Tensor, bool]: The last iterate, shape (R,), a lower bound on
        the exact thresholds in every case; and whether all rows converged,
        in which case it is the exact thresholds.

    Note:
        W: segment length; B: number of segments; R: number of rows.
    """

    def per_row(segment_sums: Tensor) -> Tensor:
        if rows is None:
            return segment_sums
        return torch.zeros_like(tau).index_add_(0, rows, segment_sums)

    count = None
    for _ in range(max_iter):
        offset = tau if rows is None else tau.index_select(0, rows)
        excess = (values - offset).clamp_(min=0)
        # v - tau > 0 exactly when v > tau, so the signs count the set.
        # NaN rows (NaN logits) count as empty, so that they converge too.
        new_count = per_row(excess.sign().sum(dim=0)).nan_to_num_(nan=0.0)
        if count is not None and torch.equal(new_count, count):
            return tau, True
        total = per_row(excess.sum(dim=0))
        # Exact iterates only increase; the maximum guards against rounding.
        tau = torch.maximum(tau, tau + (total - 1) / new_count)
        count = new_count
    return tau, False


def _threshold_grouped(shifted: Tensor,
                       group_max: Tensor) -> Optional[Tensor]:
    """Exact sparsemax threshold by Newton steps on candidate groups.

    Args:
        shifted (Tensor): Logits shifted so that each row's maximum is 0,
            shape (R, S, G); ``shifted[r, :, j]`` is group ``j`` of row
            ``r``.
        group_max (Tensor): Maximum of each group, shape (R, G).

    Returns:
        Tensor | None: The threshold of each row, shape (R, 1), or None if
        the Newton iterations did not converge within :data:`_MAX_ITER`.

    Note:
        R: number of rows; S: group size; G: groups per row.
    """
    num_rows = shifted.size(0)
    # The group maxima include the row maximum 0, so -1 is a lower bound on
    # their threshold; their threshold, and every Newton iterate towards
    # it, is a lower bound on the threshold of the whole row.
    lower = shifted.new_full((num_rows, ), -1.0)
    lower, _ = _newton_threshold(group_max.T, None, lower, _MAX_ITER)
    # Every support element exceeds tau >= lower, so it lies in a group
    # whose maximum exceeds lower.
    candidates = group_max > lower.unsqueeze(-1)
    rows, groups = candidates.nonzero(as_tuple=True)
    values = shifted[rows, :, groups].T.contiguous()
    tau, converged = _newton_threshold(values, rows, lower, _MAX_ITER)
    return tau.unsqueeze(-1) if converged else None


def _dynamo_exporting() -> bool:
    """Tracing by ``torch.export`` (also under the dynamo ONNX exporter),
    which can trace ``torch.cond``; TorchScript's exporter cannot."""
    compiler = getattr(torch, 'compiler', None)
    return bool(compiler is not None and getattr(
        compiler, 'is_exporting', lambda: False)())


def exporting() -> bool:
    """Whether the call is being traced for export (``torch.export``, the
    dynamo ONNX exporter, or the TorchScript ONNX exporter): the grouped
    Newton threshold has data-dependent loops and indexing, so a graph
    takes the sort-based threshold (ordinary sort / cumsum / comparison
    ops) instead; both give the same result."""
    compiler = getattr(torch, 'compiler', None)
    if compiler is not None and getattr(compiler, 'is_exporting',
                                        lambda: False)():
        return True
    onnx = getattr(torch, 'onnx', None)
    return bool(onnx is not None and getattr(
        onnx, 'is_in_onnx_export', lambda: False)())


def _sparsemax_rows(rows: Tensor) -> Tensor:
    """Sparsemax of each row of a 2-D tensor, in the compute dtype.

    Args:
        rows (Tensor): Logits, shape (R, D), D >= 1, any floating dtype.

    Returns:
        Tensor: Probabilities in the compute dtype (float64 for float64
        input, float32 otherwise), contiguous, shape (R, D).

    Note:
        R: number of rows; D: row length (the normalised dimension).
    """
    dtype = _compute_dtype(rows.dtype)
    num_rows, length = rows.shape
    if rows.device.type != 'cpu' or length < _MIN_GROUPED or exporting():
        shifted = rows.to(dtype)
        shifted = shifted - shifted.amax(dim=-1, keepdim=True)
        tau = _threshold_export(shifted) if _dynamo_exporting() else \
            _threshold_sort(shifted)
        return shifted.sub_(tau).clamp_(min=0)

    # Element s * G + j of a row belongs to group j, so the group maxima are
    # an elementwise maximum of S contiguous slices. A ragged row is padded
    # with -inf, which never exceeds a threshold.
    num_groups = -(-length // _GROUP)
    padded = num_groups * _GROUP
    if padded == length and rows.dtype == dtype:
        source, owned = rows.contiguous(), False
    else:
        source = rows.new_full((num_rows, padded), float('-inf'), dtype=dtype)
        source[:, :length] = rows
        owned = True
    group_max = source.view(num_rows, _GROUP, num_groups).amax(dim=1)
    row_max = group_max.amax(dim=-1, keepdim=True)
    shifted = source.sub_(row_max) if owned else source - row_max
    tau = _threshold_grouped(
        shifted.view(num_rows, _GROUP, num_groups), group_max.sub_(row_max))
    shifted = shifted[:, :length]
    if tau is None:
        tau = _threshold_sort(shifted)
    return shifted.sub_(tau).clamp_(min=0).contiguous()


class _Sparsemax(torch.autograd.Function):
    """Autograd function: exact forward, closed-form backward."""

    @staticmethod
    def forward(ctx, logits: Tensor, dim: int) -> Tensor:
        moved = logits.movedim(dim, -1)
        probs = _sparsemax_rows(moved.reshape(-1, moved.size(-1)))
        probs = probs.to(logits.dtype).view(moved.shape).movedim(-1, dim)
        probs = probs.contiguous()
        ctx.dim = dim
        ctx.save_for_backward(probs)
        return probs

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> Tuple[Tensor, None]:
        probs, = ctx.saved_tensors
        dim = ctx.dim
        compute_dtype = _compute_dtype(grad_output.dtype)
        # 1 on the support of the output, 0 elsewhere.
        support = probs.sign().to(compute_dtype)
        grad = grad_output.to(compute_dtype) * support
        mean = grad.sum(dim, keepdim=True) / support.sum(dim, keepdim=True)
        grad_input = grad.sub_(mean).mul_(support)
        return grad_input.to(grad_output.dtype), None


def sparsemax(logits: Tensor, dim: int = -1) -> Tensor:
    """Sparsemax of ``logits`` along ``dim``.

    ``p_i = max(z_i - tau, 0)`` with ``tau`` chosen so that ``p`` sums to 1:
    the Euclidean projection of the logits onto the probability simplex.
    The forward pass is exact (see the module docstring for the algorithms);
    the backward pass is the closed-form Jacobian-vector product
    ``grad_z_i = 1[p_i > 0] * (g_i - mean_{j: p_j > 0} g_j)``.

    Float16 and bfloat16 inputs are computed in float32, float32 in float32
    and float64 in float64; the result has the input's dtype, except under
    ``torch.autocast``, where (like ``torch.softmax``) float16 / bfloat16
    inputs give a float32 result. The output is
    non-negative, sums to 1 along ``dim`` up to rounding and does not
    change when a constant is added to the logits along ``dim``.

    Args:
        logits (Tensor): Logits of any shape, floating dtype. Any
            temperature must already be applied.
        dim (int): The dimension to normalise over; negative values count
            from the end. Default: -1.

    Returns:
        Tensor: Probabilities, same shape, dtype and device as ``logits``.

    Raises:
        ValueError: If ``logits`` is not a floating-point tensor.
        IndexError: If ``dim`` is out of range.

    Note:
        Shapes: ``logits`` and the result are (*), any shape; the
        normalised dimension D = ``logits.size(dim)`` may be 1, and empty
        tensors give empty results. Logits of -inf get probability 0;
        rows containing NaN or +inf, or only -inf, give NaN. The backward
        pass uses the support of the returned tensor, so for half-precision
        inputs probabilities that round to 0 count as outside the support.

    Examples:
        >>> sparsemax(torch.tensor([1.0, 0.5, -2.0]))
        tensor([0.7500, 0.2500, 0.0000])
    """
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        raise ValueError('sparsemax expects a floating-point tensor, got '
                         f'{getattr(logits, "dtype", type(logits))}')
    ndim = max(logits.dim(), 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f'Dimension out of range (expected to be in range '
                         f'of [{-ndim}, {ndim - 1}], but got {dim})')
    if autocast_active(logits):
        logits = upcast(logits)
    if logits.dim() == 0:
        return sparsemax(logits.unsqueeze(0), 0).squeeze(0)
    if logits.numel() == 0:
        return logits.clone()
    return _Sparsemax.apply(logits, dim % ndim)


def sparsemax_maps(logits: Tensor, temperature: float = 1.0) -> Tensor:
    """Probability maps ``sparsemax(logits / T)`` over the H*W pixels of
    each map.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        logits (Tensor): Map logits in shape (N, K, H, W).
        temperature (float): ``T > 0``. Defaults to 1.

    Returns:
        Tensor: Maps in shape (N, K, H, W), each summing to 1; float32 under
        ``torch.autocast`` (see :func:`sparsemax`).
    """
    temperature = float(temperature)
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if logits.dim() != 4:
        raise ValueError('logits must have shape (N, K, H, W), got '
                         f'{tuple(logits.shape)}')
    n, k, h, w = logits.shape
    if autocast_active(logits):
        logits = upcast(logits)  # divide in float32 too
    return sparsemax(logits.reshape(n, k, h * w) / temperature,
                     dim=-1).reshape(n, k, h, w)


class _SparsemaxLoss(torch.autograd.Function):
    """The sparsemax loss with its closed-form gradient ``p - q``, so the
    backward pass does not go through sparsemax again."""

    @staticmethod
    def forward(ctx, z: Tensor, q: Tensor, p: Tensor, dim: int) -> Tensor:
        diff = p - q
        ctx.dim = dim
        ctx.save_for_backward(diff)
        return (z * diff).sum(dim) - 0.5 * (p * p).sum(dim) + \
            0.5 * (q * q).sum(dim)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        diff, = ctx.saved_tensors
        return grad_output.unsqueeze(ctx.dim) * diff, None, None, None


def sparsemax_loss(logits: Tensor,
                   target: Tensor,
                   dim: int = -1,
                   prob: Optional[Tensor] = None) -> Tensor:
    """The sparsemax loss: the Fenchel-Young loss of sparsemax.

    With ``p = sparsemax(z)`` and a target distribution ``q`` on the
    simplex (Martins & Astudillo, 2016; Blondel et al., 2020):

    .. math::

        L(z; q) = \\langle z, p - q \\rangle - \\tfrac12 \\lVert p \\rVert^2
                  + \\tfrac12 \\lVert q \\rVert^2 \\ge 0,

    zero exactly when ``p = q``, with gradient ``p - q`` with respect to
    ``z``. Unlike a loss on ``p`` (such as the OKS risk), whose gradient
    reaches only the logits of the support of ``p``, this one pushes up the
    logits of every pixel the target puts mass on, inside the support or
    not. The value is invariant to adding a constant to ``z`` along
    ``dim``. The gradient is applied in closed form (first order only: no
    gradient flows to ``target`` or ``prob``).

    Args:
        logits (Tensor): Logits ``z`` of any shape, floating; any
            temperature already applied.
        target (Tensor): ``q``, same shape, non-negative, summing to 1 along
            ``dim``.
        dim (int): The normalised dimension. Defaults to -1.
        prob (Tensor, optional): ``sparsemax(logits, dim)`` when the caller
            has it already (a model's forward pass), to save computing it
            again; same shape. Defaults to None (computed here).

    Returns:
        Tensor: The loss, ``logits``'s shape without ``dim``; float32 for
        float16 / bfloat16 inputs.
    """
    for name, other in (('target', target), ('prob', prob)):
        if other is not None and other.shape != logits.shape:
            raise ValueError(f'{name} must have the shape of logits, got '
                             f'{tuple(other.shape)} and '
                             f'{tuple(logits.shape)}')
    z = upcast(logits)
    with torch.no_grad():
        p = sparsemax(z.detach(), dim) if prob is None else prob.detach()
    return _SparsemaxLoss.apply(z, target.detach().to(z.dtype),
                                p.to(z.dtype), dim)
