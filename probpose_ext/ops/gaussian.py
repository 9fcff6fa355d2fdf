"""Gaussian maths of TIC-TAC (Shukla, Salzmann, Alahi, ICML 2024) on the
joint layout of :mod:`.covariance`: likelihoods, TAC, TIC assembly,
baseline losses and sampling.

Layout. Vectors have shape (N, D) with ``D = 2K`` coordinates interleaved
``(x_0, y_0, x_1, y_1, ...)``; covariances (N, D, D); a ``mask`` (N, K) of
booleans marks the *present* keypoints (``None``: all present). Residuals
are ``prediction - ground truth``.

Masking of absent keypoints. The rows and columns of an absent keypoint are
replaced by the identity and its residual by 0. The masked covariance is
then (up to a permutation) ``blockdiag(Sigma_pp, I)``, so its Cholesky
factor is ``blockdiag(L_pp, I)``: the log-determinant and the Mahalanobis
term are exactly those of the present sub-vector. The ``log 2 pi``
constant is counted for the present coordinates only, so the masked NLL
*equals* the NLL of the reduced vector (a sample without present keypoints
has NLL 0). Absent entries may hold anything, NaN included: they are
selected away by :func:`torch.where` and get zero gradients.

Jitter policy (keyword ``jitter`` of the functions that factorise):
``jitter * I`` is always added to the present coordinates' diagonal
(default 0, i.e. the matrix as given). If a Cholesky factorisation still
fails, the failing samples only are retried with ``tau * I`` added,
``tau = 1e-6 * mean(diag)`` times 10, 100, ... (five tries in all); if they
still fail a ValueError is raised. No explicit inverse is formed: solves
use the Cholesky factor (:func:`torch.linalg.solve_triangular`,
:func:`torch.linalg.cholesky_solve`).

TAC identity. With the precision ``P = Sigma^-1`` (of the present
keypoints), the Schur complement gives ``P_jj = (Sigma_jj - Sigma_jr
Sigma_rr^-1 Sigma_rj)^-1`` and ``P_jr = -P_jj Sigma_jr Sigma_rr^-1`` (``r``
= the rest), hence ``Sigma_jr Sigma_rr^-1 = -P_jj^-1 P_jr`` and the
conditional mean is ``yhat_j - P_jj^-1 P_jr (y_r - yhat_r)``. Its error is,
with ``e = yhat - y``::

    y_j - yhat_j + P_jj^-1 P_jr (y_r - yhat_r)
        = -P_jj^-1 (P_jj e_j + P_jr e_r) = -P_jj^-1 (P e)_j,

so every joint's TAC comes from one solve ``P e`` and K 2x2 solves.

All functions take torch tensors (NumPy arrays are converted; the results
of :func:`gaussian_nll` and :func:`tac` are then NumPy arrays as well) and
work under autograd (:func:`tac` included, though it is a metric).

Note:
    - N: number of samples (instances)
    - K: number of keypoints; D = 2K coordinates
    - Z: bottleneck dimension of the TIC Jacobian
    - S: number of drawn samples
"""
import math
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .simplex import exporting

__all__ = [
    'gaussian_nll', 'tac', 'tic_covariance', 'hessian_trace_term',
    'diagonal_gaussian_nll', 'beta_nll', 'faithful_loss',
    'cholesky_factor_from_raw', 'cov_from_cholesky_factor', 'sample_poses',
    'masked_covariance', 'robust_cholesky', 'gaussian_expected_oks'
]

LOG_2PI = math.log(2.0 * math.pi)
_RETRIES = 5

TensorLike = Union[Tensor, np.ndarray]


# ----------------------------------------------------------------- checks
def _tensor(x: TensorLike, name: str) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    else:
        raise ValueError(f'{name} must be a torch tensor or NumPy array, '
                         f'got {type(x).__name__}')
    if not t.is_floating_point():
        t = t.to(torch.float64)
    return t


def _check_vec(x: Tensor, name: str, n: Optional[int] = None,
               d: Optional[int] = None) -> Tuple[int, int]:
    if x.ndim != 2:
        raise ValueError(f'{name} must have shape (N, D), got '
                         f'{tuple(x.shape)}')
    if x.shape[1] % 2:
        raise ValueError(f'{name} must have an even number D = 2K of '
                         f'interleaved coordinates, got D = {x.shape[1]}')
    if (n is not None and x.shape[0] != n) or (d is not None
                                               and x.shape[1] != d):
        raise ValueError(f'{name} must have shape ({n}, {d}), got '
                         f'{tuple(x.shape)}')
    return x.shape[0], x.shape[1]


def _check_cov(cov: Tensor, n: int, d: int, name: str = 'cov') -> None:
    if tuple(cov.shape) != (n, d, d):
        raise ValueError(f'{name} must have shape (N, D, D) = ({n}, {d}, '
                         f'{d}), got {tuple(cov.shape)}')


def _coord_mask(mask: Optional[TensorLike], n: int, d: int,
                device: torch.device) -> Optional[Tensor]:
    """The (N, K) keypoint mask as an (N, D) coordinate mask."""
    if mask is None:
        return None
    m = _tensor(mask, 'mask') if isinstance(mask, np.ndarray) else mask
    if not isinstance(m, Tensor):
        raise ValueError('mask must be a torch tensor or NumPy array')
    if tuple(m.shape) != (n, d // 2):
        raise ValueError(f'mask must have shape (N, K) = ({n}, {d // 2}), '
                         f'got {tuple(m.shape)}')
    return m.to(device=device, dtype=torch.bool).repeat_interleave(2, dim=1)


def _as_output(x: Tensor, numpy_in: bool) -> TensorLike:
    return x.detach().cpu().numpy() if numpy_in else x


# ------------------------------------------------------------ primitives
def masked_covariance(residual: Tensor, cov: Tensor,
                      coord_mask: Optional[Tensor],
                      jitter: float = 0.0) -> Tuple[Tensor, Tensor]:
    """Residuals and covariances with absent coordinates replaced.

    Args:
        residual (Tensor): (N, D) residuals.
        cov (Tensor): (N, D, D) covariances.
        coord_mask (Tensor, optional): (N, D) present coordinates.
        jitter (float): added to the present diagonal entries.

    Returns:
        tuple: (N, D) residuals with absent entries 0 and (N, D, D)
        covariances with absent rows/columns replaced by the identity.
    """
    d = cov.shape[-1]
    eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
    if jitter:
        cov = cov + jitter * eye
    if coord_mask is None:
        return residual, cov
    zero = torch.zeros((), dtype=residual.dtype, device=residual.device)
    residual = torch.where(coord_mask, residual, zero)
    both = coord_mask[:, :, None] & coord_mask[:, None, :]
    cov = torch.where(both, cov, eye.expand_as(cov))
    return residual, cov


def robust_cholesky(cov: Tensor) -> Tensor:
    """Lower Cholesky factor of (N, D, D) ``cov``, retrying failures.

    Samples whose factorisation fails are retried with ``tau * I`` added,
    ``tau = 1e-6 * mean(diag) * 10^t`` for ``t = 1 .. 4``; a sample that
    still fails raises ValueError (so does a NaN in a present entry;
    checking costs one host synchronisation per call).

    Returns:
        Tensor: (N, D, D) lower-triangular factors.
    """
    chol, info = torch.linalg.cholesky_ex(cov)
    if not bool((info > 0).any()):
        return chol
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    scale = cov.diagonal(dim1=-2, dim2=-1).mean(-1).abs().clamp_min(
        torch.finfo(cov.dtype).tiny)[:, None, None]
    for t in range(1, _RETRIES):
        bad = info > 0
        tau = 1e-6 * scale * 10.0**t
        retry, info_r = torch.linalg.cholesky_ex(cov + tau * eye)
        chol = torch.where(bad[:, None, None], retry, chol)
        info = torch.where(bad, info_r, info)
        if not bool((info > 0).any()):
            return chol
    idx = torch.nonzero(info > 0).flatten().tolist()
    raise ValueError(f'covariance of samples {idx} is not positive '
                     'definite (Cholesky failed with jitter up to '
                     f'1e-6 * mean(diag) * 1e{_RETRIES - 1})')


# ------------------------------------------------------------ likelihoods
def gaussian_nll(residual: TensorLike, cov: TensorLike,
                 mask: Optional[TensorLike] = None,
                 jitter: float = 0.0) -> TensorLike:
    """Per-sample negative log-likelihood of a full-covariance Gaussian.

    ``0.5 * (log det Sigma + r^T Sigma^-1 r + D_p log 2 pi)`` with ``D_p``
    the number of present coordinates, i.e. exactly
    ``-scipy.stats.multivariate_normal.logpdf(r_p, cov=Sigma_pp)`` of the
    present sub-vector (see the module docstring for masking and jitter).

    Args:
        residual (Tensor): (N, D) residuals, ``D = 2K`` interleaved.
        cov (Tensor): (N, D, D) symmetric positive-definite covariances.
        mask (Tensor, optional): (N, K) bool, present keypoints.
        jitter (float): ``jitter * I`` added to the present diagonal.

    Returns:
        Tensor: (N,) NLL per sample.
    """
    numpy_in = isinstance(residual, np.ndarray)
    residual, cov = _tensor(residual, 'residual'), _tensor(cov, 'cov')
    n, d = _check_vec(residual, 'residual')
    _check_cov(cov, n, d)
    cmask = _coord_mask(mask, n, d, residual.device)
    cov = cov.to(residual.dtype)
    r, c = masked_covariance(residual, cov, cmask, jitter)
    chol = robust_cholesky(c)
    z = torch.linalg.solve_triangular(chol, r[..., None], upper=False)
    maha = z.squeeze(-1).pow(2).sum(-1)
    logdet = 2.0 * chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    d_p = (cmask.sum(-1).to(r.dtype) if cmask is not None else
           torch.full((n, ), float(d), dtype=r.dtype, device=r.device))
    return _as_output(0.5 * (logdet + maha + d_p * LOG_2PI), numpy_in)


def tac(pred: TensorLike, cov: TensorLike, gt: TensorLike,
        mask: Optional[TensorLike] = None,
        jitter: float = 0.0) -> TensorLike:
    """Task-agnostic correlations: per-joint error of the conditional mean.

    ``TAC_j = || y_j - (yhat_j + Sigma_jr Sigma_rr^-1 (y_r - yhat_r)) ||``
    with ``r`` the other *present* keypoints, computed for all joints at
    once as ``|| P_jj^-1 (P e)_j ||`` with ``P`` the precision of the
    present keypoints and ``e = yhat - y`` (derivation in the module
    docstring). A joint without other present joints scores its plain
    error ``|| y_j - yhat_j ||``.

    Args:
        pred (Tensor): (N, D) predicted means.
        cov (Tensor): (N, D, D) predicted covariances.
        gt (Tensor): (N, D) ground truth.
        mask (Tensor, optional): (N, K) bool, present keypoints.
        jitter (float): ``jitter * I`` added to the present diagonal.

    Returns:
        Tensor: (N, K) L2 errors, NaN for absent keypoints.
    """
    numpy_in = isinstance(pred, np.ndarray)
    pred, gt = _tensor(pred, 'pred'), _tensor(gt, 'gt')
    cov = _tensor(cov, 'cov')
    n, d = _check_vec(pred, 'pred')
    _check_vec(gt, 'gt', n, d)
    _check_cov(cov, n, d)
    k = d // 2
    cmask = _coord_mask(mask, n, d, pred.device)
    e, c = masked_covariance(pred - gt.to(pred.dtype), cov.to(pred.dtype),
                             cmask, jitter)
    chol = robust_cholesky(c)
    eye = torch.eye(d, dtype=c.dtype, device=c.device).expand_as(c)
    prec = torch.cholesky_solve(eye, chol)  # P = Sigma^-1 via the factor
    pe = torch.cholesky_solve(e[..., None], chol).view(n, k, 2)
    idx = torch.arange(k, device=c.device)
    p_jj = prec.view(n, k, 2, k, 2)[:, idx, :, idx, :].transpose(0, 1)
    err = torch.linalg.solve(p_jj, pe[..., None]).squeeze(-1)
    # a zero error (absent joints, exact fits) gets value and gradient 0
    # rather than the NaN gradient of sqrt at 0
    sq = err.pow(2).sum(-1)
    pos = sq > 0
    one = torch.ones((), dtype=sq.dtype, device=sq.device)
    out = torch.where(pos, torch.where(pos, sq, one).sqrt(), 0 * one)
    if cmask is not None:
        out = torch.where(cmask[:, ::2], out, float('nan') * one)
    return _as_output(out, numpy_in)


# ------------------------------------------------------------ TIC assembly
def _check_eps(eps: Union[float, Tensor], n: int, ref: Tensor,
               name: str) -> Tensor:
    e = torch.as_tensor(eps, dtype=ref.dtype, device=ref.device)
    if e.ndim == 2 and e.shape[1] == 1:
        e = e[:, 0]
    if e.ndim > 1 or (e.ndim == 1 and e.shape[0] != n):
        raise ValueError(f'{name} must be a scalar or have shape (N,) = '
                         f'({n},), got {tuple(e.shape)}')
    # the check syncs with the host: skipped under autograd and while
    # tracing for export (a data-dependent branch cannot be traced)
    if (not torch.is_grad_enabled() or not e.requires_grad) and \
            not exporting():
        if bool((e < 0).any()):
            raise ValueError(f'{name} must be >= 0')
    return e.expand(n)[:, None, None]


def tic_covariance(jacobian: Tensor, eps1: Union[float, Tensor],
                   l_factor: Tensor, hessian_term: Optional[Tensor] = None,
                   eps2: Union[float, Tensor, None] = None) -> Tensor:
    """TIC covariance ``eps1 J J^T + eps2 Htilde + L L^T``.

    ``L`` is used as given (``L L^T`` is symmetric positive semi-definite
    for any square ``L``; a lower-triangular factor with a positive
    diagonal, e.g. from :func:`cholesky_factor_from_raw`, makes the sum
    positive definite). ``eps1, eps2 >= 0`` (the paper squares network
    outputs); negative values raise ValueError when they carry no
    gradient (the check is skipped under autograd to avoid a host sync).

    Args:
        jacobian (Tensor): (N, D, Z) Jacobian of the mean w.r.t. the
            bottleneck.
        eps1 (float | Tensor): scalar or (N,) weights of ``J J^T``.
        l_factor (Tensor): (N, D, D) factor ``L``.
        hessian_term (Tensor, optional): (N, D, D) ``Htilde``
            (:func:`hessian_trace_term`).
        eps2 (float | Tensor, optional): scalar or (N,) weights of
            ``Htilde``; required with ``hessian_term``.

    Returns:
        Tensor: (N, D, D) covariances.
    """
    if jacobian.ndim != 3:
        raise ValueError(f'jacobian must have shape (N, D, Z), got '
                         f'{tuple(jacobian.shape)}')
    n, d, _ = jacobian.shape
    _check_cov(l_factor, n, d, 'l_factor')
    e1 = _check_eps(eps1, n, jacobian, 'eps1')
    cov = e1 * (jacobian @ jacobian.transpose(-1, -2))
    cov = cov + l_factor @ l_factor.transpose(-1, -2)
    if hessian_term is not None:
        if eps2 is None:
            raise ValueError('eps2 is required with hessian_term')
        _check_cov(hessian_term, n, d, 'hessian_term')
        cov = cov + _check_eps(eps2, n, jacobian, 'eps2') * hessian_term
    elif eps2 is not None:
        raise ValueError('eps2 given without hessian_term')
    return cov


def hessian_trace_term(hessians: Tensor) -> Tensor:
    """``Htilde_ij = tr(H_i H_j)`` for per-coordinate Hessians.

    Args:
        hessians (Tensor): (N, D, Z, Z) Hessian of each mean coordinate
            w.r.t. the bottleneck.

    Returns:
        Tensor: (N, D, D) matrix (symmetric positive semi-definite for
        symmetric ``H_i``: it is the Gram matrix of the flattened ``H_i``).
    """
    if hessians.ndim != 4 or hessians.shape[-1] != hessians.shape[-2]:
        raise ValueError(f'hessians must have shape (N, D, Z, Z), got '
                         f'{tuple(hessians.shape)}')
    return torch.einsum('niab,njba->nij', hessians, hessians)


# --------------------------------------------------------- baseline losses
def _diag_terms(residual: Tensor, var: Tensor,
                mask: Optional[TensorLike]) -> Tuple[Tensor, Tensor]:
    """Per-coordinate Gaussian NLL (N, D) and the (N, D) coordinate mask."""
    n, d = _check_vec(residual, 'residual')
    _check_vec(var, 'var', n, d)
    cmask = _coord_mask(mask, n, d, residual.device)
    if cmask is None:
        cmask = torch.ones((n, d), dtype=torch.bool, device=residual.device)
    one = torch.ones((), dtype=var.dtype, device=var.device)
    zero = torch.zeros((), dtype=residual.dtype, device=residual.device)
    var = torch.where(cmask, var, one)
    residual = torch.where(cmask, residual, zero)
    nll = 0.5 * (var.log() + residual.pow(2) / var + LOG_2PI)
    return torch.where(cmask, nll, zero), cmask


def diagonal_gaussian_nll(residual: Tensor, var: Tensor,
                          mask: Optional[TensorLike] = None) -> Tensor:
    """Per-sample NLL of independent coordinates (diagonal covariance).

    ``sum_d 0.5 * (log var_d + r_d^2 / var_d + log 2 pi)`` over the present
    coordinates; equals :func:`gaussian_nll` with ``diag(var)``.

    Args:
        residual (Tensor): (N, D) residuals.
        var (Tensor): (N, D) positive variances.
        mask (Tensor, optional): (N, K) bool, present keypoints.

    Returns:
        Tensor: (N,) NLL per sample.
    """
    return _diag_terms(residual, var, mask)[0].sum(-1)


def beta_nll(residual: Tensor, var: Tensor, beta: float = 0.5,
             mask: Optional[TensorLike] = None) -> Tensor:
    """Beta-NLL (Seitzer et al., ICLR 2022).

    ``sum_d sg(var_d)^beta * 0.5 * (log var_d + r_d^2 / var_d + log 2
    pi)`` over the present coordinates, ``sg`` = stop-gradient: the
    gradient w.r.t. the mean is ``var^(beta - 1) r`` per coordinate
    (``beta = 0``: the NLL's, ``beta = 1``: the squared error's). Summed
    per sample (the paper averages; scale as needed).

    Args:
        residual (Tensor): (N, D) residuals.
        var (Tensor): (N, D) positive variances.
        beta (float): exponent in [0, 1].
        mask (Tensor, optional): (N, K) bool, present keypoints.

    Returns:
        Tensor: (N,) loss per sample.
    """
    nll, cmask = _diag_terms(residual, var, mask)
    if beta == 0:
        return nll.sum(-1)
    one = torch.ones((), dtype=var.dtype, device=var.device)
    weight = torch.where(cmask, var.detach(), one).pow(beta)
    return (weight * nll).sum(-1)


def faithful_loss(residual: Tensor, cov: Tensor,
                  mask: Optional[TensorLike] = None,
                  jitter: float = 0.0) -> Tensor:
    """Faithful heteroscedastic loss (Stirn et al., AISTATS 2023).

    ``0.5 * ||r_p||^2 + NLL(sg(r), Sigma)``: the squared error trains the
    mean (its gradient w.r.t. the residual is exactly ``r``), the NLL with
    the residual's gradient stopped trains the covariance only. The
    paper's second modification (stopping the covariance head's gradient
    into the shared trunk) is architectural and belongs to the head.

    Args:
        residual (Tensor): (N, D) residuals.
        cov (Tensor): (N, D, D) covariances, or (N, D) diagonal variances.
        mask (Tensor, optional): (N, K) bool, present keypoints.
        jitter (float): passed to :func:`gaussian_nll`.

    Returns:
        Tensor: (N,) loss per sample.
    """
    n, d = _check_vec(residual, 'residual')
    cmask = _coord_mask(mask, n, d, residual.device)
    zero = torch.zeros((), dtype=residual.dtype, device=residual.device)
    r = residual if cmask is None else torch.where(cmask, residual, zero)
    mse = 0.5 * r.pow(2).sum(-1)
    if cov.ndim == 2:
        nll = diagonal_gaussian_nll(residual.detach(), cov, mask)
    else:
        nll = gaussian_nll(residual.detach(), cov, mask, jitter)
    return mse + nll


# ------------------------------------------------------------- factors
def cholesky_factor_from_raw(raw: Tensor, min_diag: float = 1e-4) -> Tensor:
    """A valid lower Cholesky factor from unconstrained network outputs.

    ``L = tril(raw, -1) + diag(softplus(diag(raw)) + min_diag)``: the
    strict upper triangle of ``raw`` is ignored, the diagonal is
    positive, so ``L L^T`` is positive definite.

    Args:
        raw (Tensor): (N, D, D) raw outputs.
        min_diag (float): lower bound of the diagonal.

    Returns:
        Tensor: (N, D, D) lower-triangular factor.
    """
    if raw.ndim != 3 or raw.shape[-1] != raw.shape[-2]:
        raise ValueError(f'raw must have shape (N, D, D), got '
                         f'{tuple(raw.shape)}')
    diag = F.softplus(raw.diagonal(dim1=-2, dim2=-1)) + min_diag
    return torch.tril(raw, -1) + torch.diag_embed(diag)


def cov_from_cholesky_factor(raw: Tensor, min_diag: float = 1e-4) -> Tensor:
    """``L L^T`` with ``L = cholesky_factor_from_raw(raw, min_diag)``.

    The "nll" baseline is :func:`gaussian_nll` on this covariance.

    Returns:
        Tensor: (N, D, D) positive-definite covariances.
    """
    chol = cholesky_factor_from_raw(raw, min_diag)
    return chol @ chol.transpose(-1, -2)


# ------------------------------------------------------------- sampling
def sample_poses(mean: Tensor, cov: Tensor, num_samples: int,
                 generator: Optional[torch.Generator] = None,
                 jitter: float = 0.0) -> Tensor:
    """Draw poses from ``N(mean, cov)`` as ``mean + L eps``.

    Args:
        mean (Tensor): (N, D) means.
        cov (Tensor): (N, D, D) covariances.
        num_samples (int): S.
        generator (torch.Generator, optional): for reproducible draws
            (on the tensors' device).
        jitter (float): ``jitter * I`` added before factorising.

    Returns:
        Tensor: (S, N, D) samples.
    """
    n, d = _check_vec(mean, 'mean')
    _check_cov(cov, n, d)
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f'num_samples must be a positive integer, got '
                         f'{num_samples}')
    _, c = masked_covariance(mean, cov.to(mean.dtype), None, jitter)
    chol = robust_cholesky(c)
    eps = torch.randn((int(num_samples), n, d), generator=generator,
                      dtype=mean.dtype, device=mean.device)
    return mean + torch.einsum('nij,snj->sni', chol, eps)


def gaussian_expected_oks(cov: Tensor, variance: Tensor) -> Tensor:
    """Expected OKS of a keypoint whose error is Gaussian, ``d ~ N(0, S)``:

        E[exp(-|d|^2 / (2 v))] = det(I + S / v)^(-1/2)

    (the Gaussian integral of the product of the error density and the
    un-normalised OKS kernel of variance ``v``; closed form, tested against
    Monte Carlo and a quadrature). 1 for ``S = 0``, decreasing as ``S``
    grows. A keypoint score for covariance heads: the OKS a keypoint is
    expected to reach if its covariance is calibrated.

    Note:
        - ``...``: any leading shape, e.g. (N, K)

    Args:
        cov (Tensor): 2x2 covariances (..., 2, 2), symmetric positive
            semi-definite.
        variance (Tensor): OKS variances ``v`` (...) in the same units
            squared (e.g. :func:`.oks.oks_variance_nominal` in heatmap
            pixels^2), > 0; broadcast against ``cov``'s leading shape.

    Returns:
        Tensor: Expected OKS (...), in (0, 1].
    """
    if cov.shape[-2:] != (2, 2):
        raise ValueError(f'cov must have shape (..., 2, 2), got '
                         f'{tuple(cov.shape)}')
    v = torch.as_tensor(variance, dtype=cov.dtype, device=cov.device)
    a, b, d = cov[..., 0, 0] / v, cov[..., 0, 1] / v, cov[..., 1, 1] / v
    # det(I + S / v) = (1 + a)(1 + d) - b^2
    return ((1.0 + a) * (1.0 + d) - b * b).rsqrt()
