"""Calibration of keypoint probability maps (rank-mass PIT and temperature).

A probabilistic keypoint head outputs, per instance and keypoint, a
probability map ``P`` over the ``H*W`` heatmap pixels. Pixel centres sit at
integer coordinates ``x in 0..W-1``, ``y in 0..H-1`` (as in
:mod:`probpose_ext.ops.oks`); a ground-truth (GT) location is assigned to
the pixel whose centre is nearest, ``(floor(x + 0.5), floor(y + 0.5))``.

**Rank mass.** For the GT pixel ``g`` of a map, the *rank mass* is the
probability mass of the pixels strictly more probable than ``g``, plus a
share ``u`` of the mass of the pixels exactly as probable as ``g`` (ties,
``g`` included):

.. math::

    S = \\sum_{x: P(x) > P(g)} P(x) + u \\sum_{x: P(x) = P(g)} P(x).

If the GT pixel is distributed according to ``P`` (the map is calibrated)
and ``u ~ U(0, 1)`` independently, then ``S ~ U(0, 1)`` *exactly*: the level
set of probability value ``q`` holding ``g`` has mass ``m_q``, is hit with
probability ``m_q``, and then ``S`` is uniform on ``[C_q, C_q + m_q]`` where
``C_q`` is the mass of the more probable pixels; these intervals tile
``[0, 1]``. This is the randomised probability integral transform of the
"highest-density region" ordering. Without the randomisation (``u = 0``)
``S`` is biased low wherever maps have ties, e.g. a uniform map always
gives 0. A too-sharp model puts GT keypoints in low-probability pixels
(``S`` piles up near 1); a too-flat one puts them in its top pixels (``S``
piles up near 0). A GT pixel of probability 0 gets ``S = 1``.

**Miscalibration.** With ``F_n`` the empirical CDF of the rank masses of
the GT keypoints, :func:`miscalibration` reports the Kolmogorov-Smirnov
distance ``sup_t |F_n(t) - t|`` and the mean absolute CDF error
``int_0^1 |F_n(t) - t| dt`` (the 1-Wasserstein distance to ``U(0, 1)``),
both computed exactly from the sorted masses.

**Temperature.** :func:`fit_temperature` finds the temperature ``T`` of
``P = sparsemax(logits / T)`` (over the ``H*W`` pixels, see
:func:`probpose_ext.ops.sparsemax`) minimising the miscalibration on
held-out data, by a log-spaced grid followed by a golden-section search in
``log T``. The tie shares ``u`` are drawn once and reused for every
candidate temperature (common random numbers), so the objective is a
deterministic function of ``T``.

All functions are pure PyTorch and vectorised over instances and keypoints.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ._checks import check_maps
from .credible import credible_region_mask
from .pixels import gt_pixel_index
from .simplex import sparsemax

__all__ = [
    'gt_pixel_index', 'rank_mass', 'calibration_curve', 'miscalibration',
    'fit_temperature'
]

#: Tie handling modes of :func:`rank_mass` and the share ``u`` they use.
TIE_MODES = ('random', 'mid', 'exclude')

#: Inverse golden ratio, the shrink factor of the golden-section search.
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
#: objectives of :func:`fit_temperature`
FIT_METRICS = ('mace', 'ks', 'coverage')


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else is computed in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _tie_share(ties: str, shape: Tuple[int, ...], dtype: torch.dtype,
               device: torch.device,
               generator: Optional[torch.Generator]) -> Tensor:
    """The share ``u`` of the tied mass counted for each map."""
    if ties == 'random':
        return torch.rand(shape,
                          generator=generator,
                          dtype=dtype,
                          device=device)
    if ties == 'mid':
        return torch.full(shape, 0.5, dtype=dtype, device=device)
    if ties == 'exclude':
        return torch.zeros(shape, dtype=dtype, device=device)
    raise ValueError(f'ties must be one of {TIE_MODES}, got {ties!r}')


def _rank_mass_rows(flat: Tensor, index: Tensor, share: Tensor) -> Tensor:
    """Rank mass of each row of flattened maps.

    Args:
        flat (Tensor): Maps, non-negative, shape (R, D), compute dtype.
        index (Tensor): GT pixel of each row, int64, shape (R,).
        share (Tensor): Share ``u`` of the tied mass, shape (R,).

    Returns:
        Tensor: Rank masses relative to each row's total, shape (R,); NaN
        for rows whose total is not positive and finite.

    Note:
        R: number of rows; D: pixels per map.
    """
    total = flat.sum(dim=-1)
    p_gt = flat.gather(-1, index.unsqueeze(-1))
    zero = flat.new_zeros(())
    above = torch.where(flat > p_gt, flat, zero).sum(dim=-1)
    tied = torch.where(flat == p_gt, flat, zero).sum(dim=-1)
    mass = (above + share * tied) / total
    ok = torch.isfinite(total) & (total > 0)
    return torch.where(ok, mass.clamp(0.0, 1.0),
                       torch.full_like(mass, math.nan))


def rank_mass(
        prob: Tensor,
        gt_xy: Tensor,
        valid: Optional[Tensor] = None,
        ties: str = 'random',
        generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Probability mass of the pixels more probable than the GT pixel.

    For each map, ``S = sum_{P(x) > P(g)} P(x) + u * sum_{P(x) = P(g)} P(x)``
    with ``g`` the pixel nearest to the GT location (see the module
    docstring). Masses are taken relative to each map's total, so maps
    need only be non-negative (rounding in the normalisation is harmless).
    For a calibrated model, ``S ~ U(0, 1)`` over GT keypoints when
    ``ties='random'``.

    Args:
        prob (Tensor): Probability maps, non-negative, shape (N, K, H, W),
            floating dtype.
        gt_xy (Tensor): GT locations ``(x, y)`` in heatmap pixels, shape
            (N, K, 2). They are rounded to the nearest pixel centre.
        valid (Tensor, optional): Which GT keypoints to use, bool or 0/1,
            shape (N, K). Default: all.
        ties (str): The share ``u`` of the mass tied with the GT pixel:
            ``'random'`` draws ``u ~ U(0, 1)`` (exactly uniform ``S`` under
            calibration), ``'mid'`` uses 0.5 and ``'exclude'`` uses 0 (only
            strictly more probable pixels). Default: ``'random'``.
        generator (torch.Generator, optional): Random generator for
            ``ties='random'``, on the device of ``prob``. ``u`` is drawn as
            ``torch.rand((N, K), generator=generator)`` in the compute dtype,
            for every map, valid or not, so results are reproducible.

    Returns:
        tuple[Tensor, Tensor]: The rank masses in ``[0, 1]``, shape (N, K),
        float64 for float64 input and float32 otherwise, NaN where not
        valid; and the validity, bool, shape (N, K): ``valid``, the GT
        location finite and inside the map, and the map's total positive
        and finite.

    Note:
        N: number of instances; K: keypoints per instance; H, W: map
        height and width. Ties are exact floating-point equality, which is
        what matters for the exact zeros of sparsemax maps and for
        constant maps.
    """
    check_maps(prob, floating=True)
    num, num_kpt, height, width = prob.shape
    if tuple(gt_xy.shape) != (num, num_kpt, 2):
        raise ValueError(f'gt_xy must have shape {(num, num_kpt, 2)}, got '
                         f'{tuple(gt_xy.shape)}')
    dtype = _compute_dtype(prob.dtype)
    share = _tie_share(ties, (num, num_kpt), dtype, prob.device, generator)
    index, ok = gt_pixel_index(
        gt_xy.to(prob.device), (height, width),
        None if valid is None else valid.to(prob.device))
    if height * width == 0:
        nan = torch.full((num, num_kpt),
                         math.nan,
                         dtype=dtype,
                         device=prob.device)
        return nan, torch.zeros_like(ok)
    flat = prob.detach().to(dtype).reshape(num * num_kpt, height * width)
    mass = _rank_mass_rows(flat, index.reshape(-1),
                           share.reshape(-1)).view(num, num_kpt)
    ok = ok & ~torch.isnan(mass)
    mass = torch.where(ok, mass, torch.full_like(mass, math.nan))
    return mass, ok


def _valid_masses(masses: Tensor, valid: Optional[Tensor]) -> Tensor:
    """Flatten ``masses`` to the valid, non-NaN entries, sorted, float64."""
    values = torch.as_tensor(masses).detach().to(torch.float64)
    keep = ~torch.isnan(values)
    if valid is not None:
        valid = torch.as_tensor(valid, device=values.device)
        if valid.shape != values.shape:
            raise ValueError(f'valid must have shape {tuple(values.shape)}, '
                             f'got {tuple(valid.shape)}')
        keep = keep & valid.to(torch.bool)
    return values[keep].clamp(0.0, 1.0).sort().values


def calibration_curve(masses: Tensor,
                      bins: Union[int, Sequence[float], Tensor] = 10,
                      valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Empirical CDF of the rank masses at the bin edges.

    For a calibrated model the curve is the identity: the fraction of GT
    keypoints with rank mass at most ``t`` (the coverage of the
    highest-probability region of mass ``t``) is ``t``. Below the
    identity means over-confident (too sharp) maps, above it
    under-confident (too flat) ones.

    Args:
        masses (Tensor): Rank masses from :func:`rank_mass`, any shape; NaN
            entries are ignored.
        bins (int | Sequence[float] | Tensor): Number of equal-width bins
            on ``[0, 1]`` (edges ``0, 1/bins, ..., 1``), or the edges
            themselves, increasing. Default: 10.
        valid (Tensor, optional): Which entries to use, same shape as
            ``masses``. Default: all non-NaN entries.

    Returns:
        tuple[Tensor, Tensor]: The edges ``t`` (the identity, i.e. the
        ideal curve), float64, shape (B + 1,); and the empirical CDF
        ``F_n(t) = #{S <= t} / n``, float64, shape (B + 1,), NaN if no
        entry is used.

    Note:
        B: number of bins; n: number of entries used.
    """
    values = _valid_masses(masses, valid)
    if isinstance(bins, int):
        if bins < 1:
            raise ValueError(f'bins must be positive, got {bins}')
        edges = torch.linspace(0.0,
                               1.0,
                               bins + 1,
                               dtype=torch.float64,
                               device=values.device)
    else:
        edges = torch.as_tensor(bins,
                                dtype=torch.float64,
                                device=values.device).reshape(-1)
        if edges.numel() < 1 or bool((edges[1:] < edges[:-1]).any()):
            raise ValueError('bin edges must be a non-empty increasing '
                             'sequence')
    if values.numel() == 0:
        return edges, torch.full_like(edges, math.nan)
    counts = torch.searchsorted(values, edges, right=True)
    return edges, counts.to(torch.float64) / values.numel()


def miscalibration(masses: Tensor,
                   valid: Optional[Tensor] = None) -> Dict[str, float]:
    """Distance of the rank-mass distribution from ``U(0, 1)``.

    Both distances are exact for the empirical CDF ``F_n`` of the ``n``
    used masses (no binning): with the sorted masses ``s_1 <= ... <= s_n``,

    * ``ks = sup_t |F_n(t) - t| = max_i max(i/n - s_i, s_i - (i-1)/n)``,
      the Kolmogorov-Smirnov statistic;
    * ``mace = int_0^1 |F_n(t) - t| dt``, the mean absolute CDF error
      (the 1-Wasserstein distance to ``U(0, 1)``), integrated piecewise
      over the intervals where ``F_n`` is constant.

    Args:
        masses (Tensor): Rank masses from :func:`rank_mass`, any shape; NaN
            entries are ignored.
        valid (Tensor, optional): Which entries to use, same shape as
            ``masses``. Default: all non-NaN entries.

    Returns:
        dict[str, float]: ``'ks'`` and ``'mace'`` (NaN if no entry is
        used) and ``'count'``, the number ``n`` of entries used.

    Note:
        n: number of entries used.
    """
    values = _valid_masses(masses, valid)
    ks, mace = _distances(values)
    return {'ks': ks, 'mace': mace, 'count': int(values.numel())}


def _distances(values: Tensor) -> Tuple[float, float]:
    """KS distance and mean absolute CDF error of sorted values in [0, 1]."""
    num = values.numel()
    if num == 0:
        return math.nan, math.nan
    ranks = torch.arange(1, num + 1, dtype=torch.float64,
                         device=values.device) / num
    ks = torch.maximum(ranks - values, values - (ranks - 1.0 / num)).max()
    # F_n = i/n on [s_i, s_{i+1}) for i = 0..n with s_0 = 0, s_{n+1} = 1;
    # G(t) = (t - c)|t - c| / 2 is an antiderivative of |t - c|.
    lo = torch.cat([values.new_zeros(1), values])
    hi = torch.cat([values, values.new_ones(1)])
    level = torch.cat([values.new_zeros(1), ranks])

    def antiderivative(t: Tensor) -> Tensor:
        return (t - level) * (t - level).abs() / 2

    mace = (antiderivative(hi) - antiderivative(lo)).sum()
    return float(ks), float(mace)


def _in_credible_region(prob: Tensor, index: Tensor, level: float) -> Tensor:
    """Whether pixel ``index`` (M, ) of each map row (M, P) lies in the
    row's ``level`` credible region, by the rule of
    :func:`probpose_ext.ops.credible.credible_region_mask`."""
    mask = credible_region_mask(prob[:, None, None, :], level)[:, 0, 0]
    return mask.gather(-1, index[:, None])[:, 0]


def fit_temperature(logits: Tensor,
                    gt_xy: Tensor,
                    valid: Optional[Tensor] = None,
                    temperatures: Optional[Union[Sequence[float],
                                                 Tensor]] = None,
                    bounds: Tuple[float, float] = (0.05, 20.0),
                    num_grid: int = 25,
                    metric: str = 'mace',
                    level: float = 0.9,
                    tol: float = 1e-3,
                    max_iter: int = 60,
                    initial_temperature: float = 1.0,
                    ties: str = 'random',
                    generator: Optional[torch.Generator] = None,
                    chunk_size: Optional[int] = None) -> Dict:
    """Sparsemax temperature minimising the miscalibration of held-out maps.

    The probability maps are ``sparsemax(logits / T)`` over the ``H*W``
    pixels of each map. The objective ``f(T)`` is the ``metric`` of
    :func:`miscalibration` over the valid GT keypoints. The search is

    1. a grid: ``temperatures`` if given, else ``num_grid`` log-spaced
       values on ``bounds``; ``f`` is evaluated at each;
    2. a golden-section search in ``log T`` on the bracket formed by the
       best grid point's neighbours (the best point itself at the ends of
       the grid), until the bracket is narrower than ``tol`` in ``log T``
       or ``max_iter`` steps; the best point evaluated anywhere is
       returned.

    Each evaluation processes all valid maps at once (in chunks of
    ``chunk_size`` maps if given); there is no Python loop over maps. The
    tie shares ``u`` are drawn once (as in :func:`rank_mass`) and reused at
    every temperature, so ``f`` is deterministic. The mean absolute CDF
    error (default) is a smoother objective than the KS distance. The
    ``'coverage'`` objective ``|c(level) - level|`` asks only that the
    ``level`` credible regions (:mod:`probpose_ext.ops.credible`: the
    shortest prefix of the pixels by decreasing probability, ties by the
    lower index, whose mass reaches ``level``) cover that share ``c`` of the
    GT keypoints, for maps whose shape one temperature cannot calibrate at
    every level at once.

    Args:
        logits (Tensor): Logits before any temperature, shape
            (N, K, H, W), floating dtype.
        gt_xy (Tensor): GT locations ``(x, y)`` in heatmap pixels, shape
            (N, K, 2), rounded to the nearest pixel centre.
        valid (Tensor, optional): Which GT keypoints to use, shape (N, K).
            GT outside the map is always excluded. Default: all.
        temperatures (Sequence[float] | Tensor, optional): Grid of positive
            candidate temperatures. Default: log-spaced on ``bounds``.
        bounds (tuple[float, float]): ``(T_min, T_max)`` of the default
            grid, ``0 < T_min < T_max``. Default: ``(0.05, 20.0)``.
        num_grid (int): Size of the default grid, at least 3. Default: 25.
        metric (str): ``'mace'``, ``'ks'`` or ``'coverage'``. Default:
            ``'mace'``.
        level (float): Credible level of the ``'coverage'`` objective, in
            (0, 1). Default: 0.9.
        tol (float): Final bracket width in ``log T``. Default: 1e-3.
        max_iter (int): Maximum golden-section steps. Default: 60.
        initial_temperature (float): Temperature of the "before" report,
            e.g. the one the model was trained with. Default: 1.0.
        ties (str): Tie handling, see :func:`rank_mass`. Default:
            ``'random'``.
        generator (torch.Generator, optional): Random generator for the tie
            shares, on the device of ``logits``.
        chunk_size (int, optional): Maps per chunk, to bound memory.
            Default: all valid maps at once.

    Returns:
        dict: ``'temperature'`` (float), the fitted ``T``; ``'before'`` and
        ``'after'``, :func:`miscalibration` dicts at
        ``initial_temperature`` and at ``T``; ``'grid'`` and
        ``'grid_scores'``, float64 tensors of shape (G,), the grid and
        ``f`` on it; ``'evaluations'`` (int), the number of evaluations of
        ``f``. The reports also hold ``'coverage'``, ``c(level)``.

    Raises:
        ValueError: If no GT keypoint is valid, or on invalid options.

    Note:
        N: number of instances; K: keypoints per instance; H, W: map
        height and width; G: grid size.
    """
    if metric not in FIT_METRICS:
        raise ValueError(f'metric must be one of {FIT_METRICS}, got '
                         f'{metric!r}')
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    check_maps(logits, 'logits', floating=True)
    num, num_kpt, height, width = logits.shape
    if tuple(gt_xy.shape) != (num, num_kpt, 2):
        raise ValueError(f'gt_xy must have shape {(num, num_kpt, 2)}, got '
                         f'{tuple(gt_xy.shape)}')
    if temperatures is None:
        low, high = float(bounds[0]), float(bounds[1])
        if not 0 < low < high or num_grid < 3:
            raise ValueError('need 0 < bounds[0] < bounds[1] and '
                             f'num_grid >= 3, got {bounds}, {num_grid}')
        grid = torch.logspace(math.log10(low),
                              math.log10(high),
                              num_grid,
                              dtype=torch.float64)
    else:
        grid = torch.as_tensor(temperatures, dtype=torch.float64)
        grid = grid.reshape(-1).sort().values
        if grid.numel() < 1 or bool((grid <= 0).any()):
            raise ValueError('temperatures must be a non-empty sequence of '
                             'positive values')

    dtype = _compute_dtype(logits.dtype)
    share = _tie_share(ties, (num, num_kpt), dtype, logits.device, generator)
    index, ok = gt_pixel_index(
        gt_xy.to(logits.device), (height, width),
        None if valid is None else valid.to(logits.device))
    # Logits of -inf are fine (probability 0); NaN or +inf maps are not.
    bad = torch.isnan(logits.detach()) | torch.isposinf(logits.detach())
    ok = ok & ~bad.flatten(-2).any(dim=-1)
    if not bool(ok.any()):
        raise ValueError('fit_temperature needs at least one valid GT '
                         'keypoint inside the map')
    rows = logits.detach().reshape(num * num_kpt, height * width)
    keep = ok.reshape(-1)
    rows = rows[keep].to(dtype)
    index, share = index.reshape(-1)[keep], share.reshape(-1)[keep]
    step = rows.size(0) if chunk_size is None else max(int(chunk_size), 1)

    def evaluate(temperature: float, coverage: bool
                 ) -> Tuple[Tensor, Optional[Tensor]]:
        """Rank masses and (if ``coverage``) level-region membership of the
        valid GT."""
        masses, inside = [], []
        for start in range(0, rows.size(0), step):
            stop = start + step
            prob = sparsemax(rows[start:stop] / temperature, dim=-1)
            masses.append(
                _rank_mass_rows(prob, index[start:stop], share[start:stop]))
            if coverage:
                inside.append(
                    _in_credible_region(prob, index[start:stop], level))
        return torch.cat(masses), torch.cat(inside) if coverage else None

    cache: Dict[float, float] = {}

    def report(t: float, coverage: bool = True) -> Dict[str, float]:
        masses, inside = evaluate(t, coverage)
        values = _valid_masses(masses, None)
        ks, mace = _distances(values)
        out = {'ks': ks, 'mace': mace, 'count': int(values.numel())}
        if coverage:
            out['coverage'] = float(inside.double().mean())
        return out

    def objective(log_t: float) -> float:
        if log_t not in cache:
            rep = report(math.exp(log_t), coverage=metric == 'coverage')
            cache[log_t] = abs(rep['coverage'] - level) \
                if metric == 'coverage' else rep[metric]
        return cache[log_t]

    with torch.no_grad():
        log_grid = [math.log(float(t)) for t in grid]
        scores = [objective(v) for v in log_grid]
        best = min(range(len(scores)), key=scores.__getitem__)
        low = log_grid[max(best - 1, 0)]
        high = log_grid[min(best + 1, len(log_grid) - 1)]
        # Golden-section search on [low, high] (a no-op for one-point grids).
        c = high - _INV_PHI * (high - low)
        d = low + _INV_PHI * (high - low)
        for _ in range(max_iter):
            if high - low <= tol:
                break
            if objective(c) <= objective(d):
                high, d = d, c
                c = high - _INV_PHI * (high - low)
            else:
                low, c = c, d
                d = low + _INV_PHI * (high - low)
        best_log_t = min(cache, key=lambda v: (cache[v], abs(v)))
        temperature = math.exp(best_log_t)
        return {
            'temperature': temperature,
            'before': report(float(initial_temperature)),
            'after': report(temperature),
            'grid': grid,
            'grid_scores': torch.tensor(scores, dtype=torch.float64),
            'evaluations': len(cache),
        }
