"""Brute-force references (plain Python loops, float64) for the calibration
numbers: rank mass, KS / MACE, credible-region coverage, reliability bins,
ECE / MCE / Brier. Shared by the ops, analysis and tool tests."""
import math

import numpy as np


def brute_rank_mass(prob, gt_xy, valid, share):
    """Rank mass of each valid map whose GT pixel is inside: the mass of
    the strictly more probable pixels plus ``share`` of the tied mass,
    relative to the map's total. Returns a list of floats (row-major)."""
    p = np.asarray(prob, dtype=np.float64)
    n, k, h, w = p.shape
    out = []
    for i in range(n):
        for j in range(k):
            x, y = (float(v) for v in gt_xy[i][j])
            ix, iy = math.floor(x + 0.5), math.floor(y + 0.5)
            if not valid[i][j] or not (0 <= ix < w and 0 <= iy < h):
                continue
            values = p[i, j].ravel().tolist()
            g = values[iy * w + ix]
            above = sum(v for v in values if v > g)
            tied = sum(v for v in values if v == g)
            out.append((above + float(share[i][j]) * tied) / sum(values))
    return out


def brute_distances(masses, grid=1_000_000):
    """KS and mean absolute CDF error of values in [0, 1] against U(0, 1):
    KS from the empirical CDF on both sides of each jump, MACE by the
    midpoint rule on ``grid`` points (error below 1 / grid)."""
    s = np.sort(np.asarray(masses, dtype=np.float64))
    n = s.size
    after = np.arange(1, n + 1) / n  # F_n(s_i)
    before = np.arange(n) / n  # F_n just below s_i
    ks = max(np.abs(after - s).max(), np.abs(before - s).max())
    t = (np.arange(grid) + 0.5) / grid
    cdf = np.searchsorted(s, t, side='right') / n
    return float(ks), float(np.abs(cdf - t).mean())


def brute_coverage(prob, gt_xy, valid, p):
    """Per map: sort pixels (ties by row-major index), keep the prefix
    until the mass reaches p, test the GT's nearest pixel. Returns
    (coverage, mean held mass, mean area, number of maps)."""
    prob = np.asarray(prob, dtype=np.float64)
    n, k, h, w = prob.shape
    hits, masses, areas = [], [], []
    for i in range(n):
        for j in range(k):
            x, y = (float(v) for v in gt_xy[i][j])
            ix, iy = math.floor(x + 0.5), math.floor(y + 0.5)
            if not valid[i][j] or not (0 <= ix < w and 0 <= iy < h):
                continue
            values = prob[i, j].ravel().tolist()
            order = sorted(range(h * w), key=lambda t: (-values[t], t))
            region, acc = set(), 0.0
            for t in order:
                if values[t] <= 0 or acc >= p:
                    break
                region.add(t)
                acc += values[t]
            hits.append(iy * w + ix in region)
            masses.append(acc)
            areas.append(len(region))
    return (float(np.mean(hits)), float(np.mean(masses)),
            float(np.mean(areas)), len(hits))


def brute_diagram(q, y, bins):
    """Per bin ``[b / B, (b + 1) / B)`` (last bin closed): count, mean
    prediction, fraction of label 1 (NaN for empty bins)."""
    count = [0] * bins
    sum_q = [0.0] * bins
    sum_y = [0.0] * bins
    for qi, yi in zip(q, y):
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            if lo <= qi < hi or (b == bins - 1 and qi == 1.0):
                count[b] += 1
                sum_q[b] += qi
                sum_y[b] += yi
                break
    conf = [s / c if c else math.nan for s, c in zip(sum_q, count)]
    freq = [s / c if c else math.nan for s, c in zip(sum_y, count)]
    return count, conf, freq


def brute_errors(q, y, bins):
    """ECE, MCE and Brier score by loops over bins and entries."""
    count, conf, freq = brute_diagram(q, y, bins)
    n = sum(count)
    gaps = [abs(f - c) for f, c, m in zip(freq, conf, count) if m]
    ece = sum(m / n * abs(f - c) for f, c, m in zip(freq, conf, count) if m)
    brier = sum((qi - yi)**2 for qi, yi in zip(q, y)) / n
    return dict(ece=ece, mce=max(gaps), brier=brier, count=n)
