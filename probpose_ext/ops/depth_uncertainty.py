"""Depth uncertainty of 3-D pose lifting: per-joint Gaussian likelihoods of
the root-relative depth (and of the full 3-D offset), and the uncertainty
metrics of regression (interval coverage, ENCE, sparsification / AUSE).

**Likelihoods** (torch, used in training). For a predicted mean ``mu``, a
log-variance ``s = log sigma^2`` and a target ``y`` (residual ``r = y -
mu``), :func:`gaussian_nll_1d` computes, elementwise, either

* ``form='nll'``: the Gaussian negative log-likelihood ``0.5 * (log 2 pi +
  s + r^2 exp(-s))``. Its minimum over ``sigma`` is at ``sigma = |r|``
  (``d/d sigma [log sigma + r^2 / (2 sigma^2)] = 1/sigma - r^2/sigma^3``);
  over a population of residuals with ``E r^2 = v`` at ``sigma^2 = v``, so
  the learned ``sigma`` is calibrated;
* ``form='proposal'``: the proposal's Eq. 1, ``ln sigma + r^2 / sigma^2 =
  0.5 * s + r^2 exp(-s)``. Its derivative ``1/sigma - 2 r^2 / sigma^3``
  vanishes at ``sigma = sqrt(2) |r|`` (population: ``sigma^2 = 2 v``): a
  head trained with it over-states the standard deviation by ``sqrt(2)``;
  divide its ``sigma`` by ``sqrt(2)`` to read a calibrated one. Up to the
  constant it is the Gaussian NLL of ``sigma / sqrt(2)``.

:func:`trivariate_gaussian_nll` is the NLL of a full 3x3 Gaussian per joint
given its lower Cholesky factor ``L`` (``Sigma = L L^T``): ``0.5 * (3 log 2
pi + log det Sigma + |L^-1 r|^2)`` with ``log det Sigma = 2 sum_i log
L_ii``, computed by one triangular solve (no inverse). :func:`tril_from_params`
builds ``L`` from 6 unconstrained numbers per joint (softplus on the
diagonal plus a floor, as
:func:`probpose_ext.ops.gaussian.cholesky_factor_from_raw`, which it
reuses; the entries below the diagonal relative to it).

**Uncertainty metrics** (NumPy, float64, used by the evaluation; the inputs
are flattened, so any shape works), for errors ``e`` (prediction - truth)
and predicted standard deviations ``sigma``:

* :func:`interval_coverage`: the fraction with ``|e| <= z_p sigma``,
  ``z_p = Phi^-1((1 + p) / 2)`` (the central ``p`` interval of ``N(mu,
  sigma^2)``); ``p`` for calibrated Gaussians.
* :func:`ence`: the expected normalised calibration error of Levi et al.
  (2019), ``mean_b |RMV_b - RMSE_b| / RMV_b`` over ``B`` equal-count bins of
  the entries sorted by ``sigma``, ``RMV_b = sqrt(mean_b sigma^2)``,
  ``RMSE_b = sqrt(mean_b e^2)``. 0 when each bin's spread matches its error.
* :func:`sparsification` / :func:`ause`: remove the fraction ``f`` of the
  entries with the largest ``sigma`` (model) or the largest ``|e|``
  (oracle); the curve is the **mean absolute error** of the remaining
  entries divided by that of all entries (1 at ``f = 0``; 0 at ``f = 1``,
  where nothing remains). AUSE is the area between the model and oracle
  curves (trapezoid rule on the fractions), 0 when ``sigma`` ranks the
  entries as ``|e|`` does, larger the worse the ranking.
* :func:`trivariate_coverage`: the fraction of 3-D residuals inside the
  level-``p`` ellipsoid of their covariance, ``r^T Sigma^-1 r <=
  chi2_3^-1(p)`` (:func:`chi2_3dof_quantile`).

Note:
    - B: batch size (or number of bins in :func:`ence`)
    - K: number of joints
    - ``...``: any leading shape, e.g. (B, K)
"""
import math
from statistics import NormalDist
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .gaussian import LOG_2PI, cholesky_factor_from_raw

__all__ = [
    'NLL_FORMS', 'gaussian_nll_1d', 'trivariate_gaussian_nll',
    'tril_from_params', 'normal_interval_z', 'interval_coverage', 'ence',
    'sparsification', 'ause', 'chi2_3dof_quantile', 'trivariate_coverage'
]

#: The ``form`` options of :func:`gaussian_nll_1d` and
#: :func:`trivariate_gaussian_nll`.
NLL_FORMS = ('nll', 'proposal')

TensorLike = Union[Tensor, np.ndarray, float]


def _check_form(form: str) -> str:
    if form not in NLL_FORMS:
        raise ValueError(f'form must be one of {NLL_FORMS}, got {form!r}')
    return form


def _as_tensors(*xs: TensorLike) -> Tuple[Tuple[Tensor, ...], bool]:
    """Tensors of ``xs`` (NumPy / numbers become float64 tensors) and
    whether none of the inputs was a tensor (then results go back to
    NumPy)."""
    numpy_in = not any(isinstance(x, Tensor) for x in xs)
    ref = next((x for x in xs if isinstance(x, Tensor)), None)
    out = []
    for x in xs:
        if isinstance(x, Tensor):
            t = x
        elif ref is not None:
            t = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        else:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        out.append(t if t.is_floating_point() else t.to(torch.float64))
    return tuple(out), numpy_in


def gaussian_nll_1d(mean: TensorLike,
                    log_var: TensorLike,
                    target: TensorLike,
                    form: str = 'nll') -> TensorLike:
    """Elementwise 1-D Gaussian loss of a target given mean and
    log-variance.

    * ``'nll'``: ``0.5 * (log(2 pi) + log_var + (y - mu)^2 exp(-log_var))``,
      i.e. ``-scipy.stats.norm(mu, sigma).logpdf(y)``; optimum ``sigma =
      |y - mu|``.
    * ``'proposal'``: ``ln sigma + (y - mu)^2 / sigma^2 = 0.5 * log_var +
      (y - mu)^2 exp(-log_var)``; optimum ``sigma = sqrt(2) |y - mu|`` (see
      the module docstring).

    Note:
        - ``...``: any shape; the three inputs broadcast (e.g. (B, K))

    Args:
        mean (Tensor | np.ndarray): Predicted means ``mu`` (...).
        log_var (Tensor | np.ndarray): Predicted ``log sigma^2`` (...).
        target (Tensor | np.ndarray): Targets ``y`` (...), same unit as
            ``mean``.
        form (str): ``'nll'`` or ``'proposal'``. Defaults to ``'nll'``.

    Returns:
        Tensor | np.ndarray: The loss per element (the broadcast shape), a
        NumPy array when no input is a tensor.
    """
    _check_form(form)
    (mu, s, y), numpy_in = _as_tensors(mean, log_var, target)
    sq = (y - mu).pow(2) * torch.exp(-s)
    if form == 'nll':
        out = 0.5 * (LOG_2PI + s + sq)
    else:
        out = 0.5 * s + sq
    return out.detach().cpu().numpy() if numpy_in else out


def tril_from_params(params: Tensor, min_diag: float = 1e-3) -> Tensor:
    """Lower-triangular 3x3 factors with a positive diagonal from 6
    unconstrained numbers each.

    ``params[..., 0:3]`` give the diagonal, ``d_i = softplus(p_i) +
    min_diag`` (:func:`probpose_ext.ops.gaussian.cholesky_factor_from_raw`),
    ``params[..., 3:6]`` the unitless multipliers ``(m_10, m_20, m_21)`` of
    the entries below it, relative to their column's diagonal: ``L = (I +
    M) diag(d)``, i.e. ``L_ij = m_ij d_j`` (``i > j``). So ``Sigma = L L^T
    = (I + M) diag(d^2) (I + M)^T`` (an LDL^T form) is positive definite,
    and only the diagonal carries the unit of the coordinates: a step of
    the raw numbers changes the correlations by the same amount whatever
    the spread (absolute off-diagonal entries in metres made Adam unstable
    for spreads of centimetres).

    Note:
        - ``...``: any leading shape, e.g. (B, K)

    Args:
        params (Tensor): Raw parameters (..., 6).
        min_diag (float): Lower bound of the diagonal (the unit of the
            coordinates, e.g. metres). Defaults to 1e-3.

    Returns:
        Tensor: ``L`` (..., 3, 3), lower triangular.
    """
    if params.shape[-1:] != (6, ):
        raise ValueError(f'params must have shape (..., 6), got '
                         f'{tuple(params.shape)}')
    lead = params.shape[:-1]
    p = params.reshape(-1, 6).unbind(-1)
    zero = torch.zeros_like(p[0])
    raw = torch.stack([p[0], zero, zero,
                       p[3], p[1], zero,
                       p[4], p[5], p[2]], -1).reshape(-1, 3, 3)
    chol = cholesky_factor_from_raw(raw, min_diag)
    diag = chol.diagonal(dim1=-2, dim2=-1)
    chol = torch.tril(chol, -1) * diag[..., None, :] + torch.diag_embed(diag)
    return chol.reshape(*lead, 3, 3)


def trivariate_gaussian_nll(mean: TensorLike,
                            scale_tril: TensorLike,
                            target: TensorLike,
                            form: str = 'nll') -> TensorLike:
    """Negative log-likelihood of 3-D targets under ``N(mean, L L^T)``.

    ``'nll'``: ``0.5 * (3 log 2 pi + log det Sigma + r^T Sigma^-1 r)``
    (``= -scipy.stats.multivariate_normal(mean, L L^T).logpdf(target)``),
    ``r = target - mean``, with ``log det Sigma = 2 sum log diag(L)`` and
    ``r^T Sigma^-1 r = |L^-1 r|^2`` (one triangular solve).
    ``'proposal'``: the 3-D analogue of Eq. 1, ``0.5 * log det Sigma + r^T
    Sigma^-1 r``, whose optimum is ``Sigma = 2 r r^T`` (population: twice
    the residual covariance).

    Note:
        - ``...``: any leading shape, e.g. (B, K); ``mean`` and
          ``target`` (..., 3), ``scale_tril`` (..., 3, 3)

    Args:
        mean (Tensor | np.ndarray): Means (..., 3).
        scale_tril (Tensor | np.ndarray): Lower Cholesky factors with a
            positive diagonal (..., 3, 3) (only the lower triangle is read).
        target (Tensor | np.ndarray): Targets (..., 3).
        form (str): ``'nll'`` or ``'proposal'``. Defaults to ``'nll'``.

    Returns:
        Tensor | np.ndarray: The NLL (...), a NumPy array when no input is
        a tensor.
    """
    _check_form(form)
    (mu, chol, y), numpy_in = _as_tensors(mean, scale_tril, target)
    if mu.shape[-1:] != (3, ) or chol.shape[-2:] != (3, 3):
        raise ValueError('mean must have shape (..., 3) and scale_tril '
                         f'(..., 3, 3), got {tuple(mu.shape)} and '
                         f'{tuple(chol.shape)}')
    r = (y - mu)[..., None]
    batch = torch.broadcast_shapes(r.shape[:-2], chol.shape[:-2])
    r, chol = r.expand(*batch, 3, 1), chol.expand(*batch, 3, 3)
    z = torch.linalg.solve_triangular(chol, r, upper=False).squeeze(-1)
    maha = z.pow(2).sum(-1)
    logdet = 2.0 * chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    if form == 'nll':
        out = 0.5 * (3.0 * LOG_2PI + logdet + maha)
    else:
        out = 0.5 * logdet + maha
    return out.detach().cpu().numpy() if numpy_in else out


# ------------------------------------------------------------------ metrics
def _flat_pair(err, sigma) -> Tuple[np.ndarray, np.ndarray]:
    """``err`` and ``sigma`` as flat float64 arrays of the same size."""
    e = np.asarray(err.detach().cpu() if isinstance(err, Tensor) else err,
                   dtype=np.float64).reshape(-1)
    s = np.asarray(
        sigma.detach().cpu() if isinstance(sigma, Tensor) else sigma,
        dtype=np.float64).reshape(-1)
    if e.shape != s.shape:
        raise ValueError(f'err and sigma must have the same number of '
                         f'entries, got {e.size} and {s.size}')
    if not (np.isfinite(e).all() and np.isfinite(s).all()):
        raise ValueError('err and sigma must be finite')
    if (s < 0).any():
        raise ValueError('sigma must be >= 0')
    return e, s


def _check_levels(levels: Sequence[float]) -> np.ndarray:
    levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    if levels.size == 0 or not ((levels > 0) & (levels < 1)).all():
        raise ValueError(f'levels must be in (0, 1), got {levels.tolist()}')
    return levels


def normal_interval_z(level: float) -> float:
    """Half-width, in standard deviations, of the central ``level`` interval
    of a normal distribution: ``z_p = Phi^-1((1 + p) / 2)`` (1.0 for p =
    0.6827, 1.96 for p = 0.95).

    Args:
        level (float): Probability ``p`` in (0, 1).

    Returns:
        float: ``z_p``.
    """
    p = float(_check_levels([level])[0])
    return NormalDist().inv_cdf(0.5 * (1.0 + p))


def interval_coverage(err: TensorLike,
                      sigma: TensorLike,
                      levels: Sequence[float] = (0.68, 0.95)) -> np.ndarray:
    """Fraction of errors inside the central Gaussian intervals:
    ``mean(|err| <= z_p sigma)`` per level ``p`` (see
    :func:`normal_interval_z`).

    Note:
        - L: number of levels; ``err`` and ``sigma`` have any equal shape

    Args:
        err (np.ndarray | Tensor): Errors (prediction - truth).
        sigma (np.ndarray | Tensor): Predicted standard deviations, same
            shape and unit, >= 0.
        levels (Sequence[float]): Levels ``p`` in (0, 1), (L,). Defaults to
            (0.68, 0.95).

    Returns:
        np.ndarray: Coverage per level (L,), float64; NaN when empty.
    """
    e, s = _flat_pair(err, sigma)
    levels = _check_levels(levels)
    if e.size == 0:
        return np.full(levels.shape, np.nan)
    z = np.array([normal_interval_z(p) for p in levels])
    return (np.abs(e)[None] <= z[:, None] * s[None]).mean(-1)


def ence(err: TensorLike, sigma: TensorLike, num_bins: int = 10) -> float:
    """Expected normalised calibration error (Levi et al., 2019).

    The entries are sorted by ``sigma`` and split into ``num_bins``
    equal-count bins (``np.array_split`` of the sorted order: sizes differ
    by at most 1; fewer bins when there are fewer entries). Per bin ``b``,
    ``RMV_b = sqrt(mean sigma^2)`` and ``RMSE_b = sqrt(mean err^2)``;
    ``ENCE = mean_b |RMV_b - RMSE_b| / RMV_b``.

    Args:
        err (np.ndarray | Tensor): Errors, any shape.
        sigma (np.ndarray | Tensor): Predicted standard deviations, same
            shape, > 0.
        num_bins (int): Number of bins B. Defaults to 10.

    Returns:
        float: ENCE (unitless, >= 0); NaN when empty.
    """
    e, s = _flat_pair(err, sigma)
    if int(num_bins) != num_bins or num_bins < 1:
        raise ValueError(f'num_bins must be a positive int, got {num_bins}')
    if e.size == 0:
        return math.nan
    bins = np.array_split(np.argsort(s, kind='stable'),
                          min(int(num_bins), e.size))
    rmv = np.array([np.sqrt(np.mean(s[b]**2)) for b in bins])
    rmse = np.array([np.sqrt(np.mean(e[b]**2)) for b in bins])
    if (rmv <= 0).any():
        raise ValueError('ENCE needs sigma > 0 (a bin has RMV 0)')
    return float(np.mean(np.abs(rmv - rmse) / rmv))


def _remaining_mae(abs_err_sorted: np.ndarray,
                   fractions: np.ndarray) -> np.ndarray:
    """Mean of ``abs_err_sorted[m:]`` for ``m = floor(f n)`` per fraction,
    over the mean of all (0 where nothing remains)."""
    n = abs_err_sorted.size
    removed = np.floor(fractions * n + 1e-9).astype(np.int64)
    tail = np.concatenate([np.cumsum(abs_err_sorted[::-1])[::-1], [0.0]])
    left = n - removed
    mean = np.where(left > 0, tail[removed] / np.maximum(left, 1), 0.0)
    total = tail[0] / n
    return mean / total if total > 0 else np.where(left > 0, 1.0, 0.0)


def sparsification(err: TensorLike, sigma: TensorLike,
                   fractions: Sequence[float]
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Sparsification curves of the model (remove the largest ``sigma``
    first) and of the oracle (remove the largest ``|err|`` first).

    At fraction ``f``, ``floor(f n)`` entries are removed; the curve value
    is the mean ``|err|`` (MAE) of the remaining ones divided by the MAE of
    all ``n`` (0 when none remains). Ties in ``sigma`` keep the input
    order.

    Note:
        - F: number of fractions; ``err`` and ``sigma`` any equal shape

    Args:
        err (np.ndarray | Tensor): Errors.
        sigma (np.ndarray | Tensor): Predicted uncertainties (any
            monotone score works: only the ranking is used).
        fractions (Sequence[float]): Removed fractions in [0, 1], (F,).

    Returns:
        tuple:
        - model (np.ndarray): (F,) normalised MAE, removal by ``sigma``.
        - oracle (np.ndarray): (F,) normalised MAE, removal by ``|err|``.
    """
    e, s = _flat_pair(err, sigma)
    fr = np.asarray(fractions, dtype=np.float64).reshape(-1)
    if not ((fr >= 0) & (fr <= 1)).all():
        raise ValueError(f'fractions must be in [0, 1], got {fr.tolist()}')
    if e.size == 0:
        nan = np.full(fr.shape, np.nan)
        return nan, nan.copy()
    a = np.abs(e)
    model = _remaining_mae(a[np.argsort(-s, kind='stable')], fr)
    oracle = _remaining_mae(a[np.argsort(-a, kind='stable')], fr)
    return model, oracle


def ause(err: TensorLike, sigma: TensorLike,
         num_fractions: int = 20) -> float:
    """Area under the sparsification error: the trapezoid-rule area between
    the model and oracle curves of :func:`sparsification` on the
    ``num_fractions + 1`` fractions ``0, 1/F, ..., 1``.

    Args:
        err (np.ndarray | Tensor): Errors, any shape.
        sigma (np.ndarray | Tensor): Predicted uncertainties, same shape.
        num_fractions (int): F, the number of steps. Defaults to 20.

    Returns:
        float: AUSE (unitless: the curves are normalised MAEs), >= 0 up to
        rounding; 0 when ``sigma`` orders the entries as ``|err|`` does;
        NaN when empty.
    """
    if int(num_fractions) != num_fractions or num_fractions < 1:
        raise ValueError(
            f'num_fractions must be a positive int, got {num_fractions}')
    fr = np.linspace(0.0, 1.0, int(num_fractions) + 1)
    model, oracle = sparsification(err, sigma, fr)
    gap = model - oracle
    return float(np.sum(0.5 * (gap[1:] + gap[:-1]) * np.diff(fr)))


def chi2_3dof_quantile(level: float) -> float:
    """Quantile of the chi-square distribution with 3 degrees of freedom.

    Inverts the closed-form CDF ``F(x) = erf(sqrt(x / 2)) - sqrt(2 x / pi)
    exp(-x / 2)`` by bisection (to ~1e-12).

    Args:
        level (float): Probability ``p`` in (0, 1).

    Returns:
        float: ``x`` with ``F(x) = p`` (3.5059 for p = 0.68, 7.8147 for
        p = 0.95).
    """
    p = float(_check_levels([level])[0])

    def cdf(x: float) -> float:
        return math.erf(math.sqrt(0.5 * x)) - math.sqrt(
            2.0 * x / math.pi) * math.exp(-0.5 * x)

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
        if hi - lo < 1e-13 * max(hi, 1.0):
            break
    return 0.5 * (lo + hi)


def trivariate_coverage(residual: TensorLike,
                        cov: TensorLike,
                        levels: Sequence[float] = (0.68, 0.95)
                        ) -> np.ndarray:
    """Fraction of 3-D residuals inside the level-``p`` ellipsoids of their
    covariances: ``r^T Sigma^-1 r <= chi2_3^-1(p)``
    (:func:`chi2_3dof_quantile`).

    Note:
        - ``...``: any leading shape (e.g. (M,) used joints); L: levels

    Args:
        residual (np.ndarray | Tensor): Residuals (..., 3).
        cov (np.ndarray | Tensor): Positive-definite covariances
            (..., 3, 3), the squared unit of ``residual``.
        levels (Sequence[float]): Levels in (0, 1), (L,). Defaults to
            (0.68, 0.95).

    Returns:
        np.ndarray: Coverage per level (L,), float64; NaN when empty.
    """
    levels = _check_levels(levels)
    r = np.asarray(residual.detach().cpu() if isinstance(residual, Tensor)
                   else residual, dtype=np.float64)
    c = np.asarray(cov.detach().cpu() if isinstance(cov, Tensor) else cov,
                   dtype=np.float64)
    if r.shape[-1:] != (3, ) or c.shape != r.shape + (3, ):
        raise ValueError('residual must have shape (..., 3) and cov '
                         f'(..., 3, 3), got {r.shape} and {c.shape}')
    r, c = r.reshape(-1, 3), c.reshape(-1, 3, 3)
    if r.shape[0] == 0:
        return np.full(levels.shape, np.nan)
    chol = np.linalg.cholesky(c)
    z = np.linalg.solve(chol, r[..., None])[..., 0]
    d2 = (z**2).sum(-1)
    q = np.array([chi2_3dof_quantile(p) for p in levels])
    return (d2[None] <= q[:, None]).mean(-1)
