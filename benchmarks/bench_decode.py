"""Expected-OKS decoding of probability maps: ours against the
straightforward per-keypoint loop and against the memory floor.

``ours`` is :func:`probpose_ext.ops.decode_expected_oks` with the nominal
OKS variances of the 'instance' kernel at decode time
(:func:`probpose_ext.ops.oks_variance_nominal`, COCO sigmas, 64 x 48 maps,
padding 1.25): the decoding step that ``ProbMap.batch_decode`` runs. The
codec itself is timed too (``ProbMap.batch_decode``, what
``ProbMapHead.predict`` calls), as a separate row: it adds a
NaN/Inf check of its own on the maps (one ``sum``) and the conversion to
per-instance NumPy arrays, which are not the decoder's work.

``ours (authors kernel)`` is the same call with the authors' clipped
variances (:func:`probpose_ext.ops.oks_variance_authors`, 0.55 to 3 px^2,
``ProbMap(kernel='authors')``): the like-for-like counterpart of the scipy
loop. Our time hardly depends on the variance (small windows around the
support); the loop's grows with the kernel area.

Baselines:

* ``scipy loop``: what the authors' code does, written here from its
  description: for every instance and keypoint,
  ``scipy.ndimage.convolve(map, kernel, mode='constant')`` with the peak-1
  Gaussian OKS kernel of the authors' variances truncated at
  ``ceil(3 sqrt(v))`` pixels (7 to 13 px wide), ``argmax``, then one
  Newton step per axis from central differences (the same step rule as
  ours: only inside the map, only where the second difference is negative,
  clipped to half a pixel). With the nominal variances of ``ours`` (up to
  48 px^2) the kernels would be up to 43 px wide and the loop about 25x
  slower; the authors' kernels give the fastest, most conservative
  baseline.
* ``dense E[OKS] map``: the previous exact implementation, the full
  expected-OKS map by separable matrix products then its arg-max
  (``argmax_newton_refine(expected_oks_map(prob, v))``).
* ``sum floor``: one ``prob.sum()``, a single pass over the maps (the
  memory floor of any decoder reading them).

The maps are what a trained model's sparsemax gives: per map a Gaussian
bump of height 1 and standard deviation 3 px at a uniform random location,
plus N(0, 0.05^2) noise, divided by the temperature 0.5, through
:func:`probpose_ext.ops.sparsemax` over the 64 * 48 pixels (float32, fixed
seed). Before timing, the integer arg-max of ``ours (authors kernel)`` and
of the scipy loop (same variances) are compared on every map (they may
differ only where the truncated kernel changes a near-tie) and the
agreement is put in the case note.
"""
import math
from typing import List, Tuple

import numpy as np
import torch
from torch import Tensor

from _harness import Case, Target

#: Keypoints and heatmap size (H, W) of ProbPose-s on COCO.
KEYPOINTS, HEIGHT, WIDTH = 17, 64, 48
#: The authors' sparsemax temperature: logits are divided by it.
TEMPERATURE = 0.5
#: Batch sizes: full run, quick smoke run; batch 1 in both.
BATCH, QUICK_BATCH = 64, 4
#: Smallest share of maps on which ours and the scipy loop must give the
#: same integer arg-max.
MIN_AGREEMENT = 0.99


def make_maps(batch: int, seed: int = 0) -> Tensor:
    """Sparsemax probability maps of a trained model (see the module
    docstring), float32 in shape (batch, 17, 64, 48)."""
    from probpose_ext.ops import sparsemax
    gen = torch.Generator().manual_seed(seed)
    shape = (batch, KEYPOINTS, 1, 1)
    cx = torch.rand(shape, generator=gen) * (WIDTH - 1)
    cy = torch.rand(shape, generator=gen) * (HEIGHT - 1)
    xs = torch.arange(WIDTH, dtype=torch.float32)
    ys = torch.arange(HEIGHT, dtype=torch.float32)[:, None]
    logits = torch.exp(-((xs - cx)**2 + (ys - cy)**2) / (2 * 3.0**2))
    logits = logits + 0.05 * torch.randn(
        batch, KEYPOINTS, HEIGHT, WIDTH, generator=gen)
    flat = (logits / TEMPERATURE).reshape(batch, KEYPOINTS, -1)
    return sparsemax(flat, dim=-1).reshape(batch, KEYPOINTS, HEIGHT, WIDTH)


def oks_kernel_truncated(variance: float) -> np.ndarray:
    """Peak-1 Gaussian OKS kernel ``exp(-d^2 / (2 v))`` on integer offsets
    up to ``ceil(3 sqrt(v))`` pixels (at least 1), float64 (2r+1, 2r+1)."""
    radius = max(1, int(math.ceil(3 * math.sqrt(variance))))
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    return np.exp(-(d[:, None]**2 + d[None, :]**2) / (2 * variance))


def scipy_loop(prob: np.ndarray,
               kernels: List[np.ndarray]) -> Tuple[np.ndarray, np.ndarray,
                                                   np.ndarray]:
    """Expected-OKS decoding one instance and keypoint at a time.

    Args:
        prob (np.ndarray): Maps in shape (N, K, H, W).
        kernels (List[np.ndarray]): The K truncated OKS kernels.

    Returns:
        tuple: Refined keypoints ``(x, y)`` (N, K, 2), scores (N, K) and the
        integer arg-max ``(x, y)`` (N, K, 2).
    """
    from scipy.ndimage import convolve
    n, k, h, w = prob.shape
    keypoints = np.zeros((n, k, 2))
    scores = np.zeros((n, k))
    integer = np.zeros((n, k, 2), dtype=np.int64)
    for i in range(n):
        for j in range(k):
            eoks = convolve(prob[i, j], kernels[j], mode='constant')
            y, x = np.unravel_index(np.argmax(eoks), eoks.shape)
            refined = [float(x), float(y)]
            for axis, (pos, size) in enumerate(((x, w), (y, h))):
                if 0 < pos < size - 1:
                    if axis == 0:
                        prev, nxt = eoks[y, x - 1], eoks[y, x + 1]
                    else:
                        prev, nxt = eoks[y - 1, x], eoks[y + 1, x]
                    second = nxt - 2 * eoks[y, x] + prev
                    if second < 0:
                        step = -(nxt - prev) / (2 * second)
                        refined[axis] += min(max(step, -0.5), 0.5)
            keypoints[i, j] = refined
            scores[i, j] = eoks[y, x]
            integer[i, j] = (x, y)
    return keypoints, scores, integer


def _support_stats(prob: Tensor) -> str:
    """Median and maximum support size and bounding box of the maps."""
    support = prob > 0
    pixels = support.sum(dim=(-2, -1)).flatten().float()
    rows, cols = support.any(dim=-1), support.any(dim=-2)

    def extent(mask: Tensor) -> Tensor:
        idx = torch.arange(mask.shape[-1])
        return (torch.where(mask, idx, -1).amax(-1) -
                torch.where(mask, idx, mask.shape[-1]).amin(-1) +
                1).flatten().float()

    box_h, box_w = extent(rows), extent(cols)
    return (f'support {pixels.median():.0f} px median ({pixels.max():.0f} '
            f'max), bounding box {box_h.median():.0f} x {box_w.median():.0f}'
            f' median ({box_h.max():.0f} x {box_w.max():.0f} max)')


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """Groups ``decode (B, 17, 64, 48)`` for B = 64 (4 in a quick run) and
    B = 1, cases ``ours``, ``ours (authors kernel)``,
    ``ProbMap.batch_decode``, ``scipy loop``, ``dense E[OKS] map`` and
    ``sum floor``; targets at B = 64: ours <= 0.01 x scipy loop and ours
    <= 20 x sum floor (none in a quick run)."""
    from probpose_ext.codecs import ProbMap
    from probpose_ext.ops import (decode_expected_oks, oks_variance_authors,
                                  oks_variance_nominal)
    from probpose_ext.ops.oks import argmax_newton_refine, expected_oks_map

    codec = ProbMap(input_size=(4 * WIDTH, 4 * HEIGHT),
                    heatmap_size=(WIDTH, HEIGHT))
    variance = oks_variance_nominal(codec.sigmas, (WIDTH, HEIGHT),
                                    codec.padding).float()
    var_authors = oks_variance_authors(codec.sigmas,
                                       (WIDTH, HEIGHT)).float()
    kernels = [oks_kernel_truncated(float(v)) for v in var_authors]

    cases, targets = [], []
    for batch in (QUICK_BATCH if quick else BATCH, 1):
        prob = make_maps(batch, seed=batch)
        prob_np = prob.numpy()
        kps, scores = decode_expected_oks(prob, var_authors)
        ref_kps, ref_scores, ref_int = scipy_loop(prob_np, kernels)
        # same integer arg-max: ours lies within half a pixel of it
        same = (np.abs(kps.numpy() - ref_int) <= 0.5 + 1e-6).all(-1)
        close = (np.abs(kps.numpy() - ref_kps) <= 1e-3).all(-1)
        agreement = same.mean()
        assert agreement >= MIN_AGREEMENT, (
            f'ours and the scipy loop agree on only {agreement:.2%} of the '
            'integer arg-maxes')
        group = f'decode ({batch}, {KEYPOINTS}, {HEIGHT}, {WIDTH})'
        slow = 1 if quick else (3 if batch > 1 else 20)
        fast = 5 if quick else (50 if batch > 1 else 200)
        cases += [
            Case(group, 'ours',
                 lambda p=prob: decode_expected_oks(p, variance),
                 repeats=fast, warmup=2,
                 note=(f'decode_expected_oks(prob, oks_variance_nominal) '
                       f'(2.6 to 48 px^2); sparsemax maps: '
                       f'{_support_stats(prob)}')),
            Case(group, 'ours (authors kernel)',
                 lambda p=prob: decode_expected_oks(p, var_authors),
                 repeats=fast, warmup=2,
                 note=(f'decode_expected_oks(prob, oks_variance_authors) '
                       f'(0.55 to 3 px^2); same integer arg-max as the '
                       f'scipy loop on {same.sum()}/{same.size} maps, '
                       f'refined locations within 1e-3 px on '
                       f'{close.sum()}, scores max abs diff '
                       f'{np.abs(scores.numpy() - ref_scores).max():.1e}')),
            Case(group, 'ProbMap.batch_decode',
                 lambda p=prob: codec.batch_decode(p),
                 repeats=fast, warmup=2,
                 note=('the codec: ours + its own NaN/Inf check (a sum) '
                       '+ per-instance NumPy conversion')),
            Case(group, 'scipy loop',
                 lambda p=prob_np: scipy_loop(p, kernels),
                 repeats=slow, warmup=0 if quick or batch > 1 else 1,
                 note=('per instance and keypoint: scipy.ndimage.convolve '
                       '(kernel truncated at ceil(3 sqrt(v)) px, '
                       f'{min(len(k) for k in kernels)} to '
                       f'{max(len(k) for k in kernels)} px wide), argmax, '
                       'Newton step per axis')),
            Case(group, 'dense E[OKS] map',
                 lambda p=prob: argmax_newton_refine(
                     expected_oks_map(p, variance)),
                 repeats=slow if batch > 1 else fast, warmup=1,
                 note='the previous exact decoder: Gy @ P @ Gx^T on the '
                 'whole map, then argmax_newton_refine'),
            Case(group, 'sum floor', lambda p=prob: p.sum(),
                 repeats=fast * 2, warmup=2,
                 note='prob.sum(): one pass over the maps'),
        ]
        if batch == BATCH:
            targets += [
                Target(group, 'ours', 'scipy loop', 0.01,
                       text='decoder >= 100x faster than the scipy loop'),
                Target(group, 'ours', 'sum floor', 20.0,
                       text='decoder <= 20x the memory floor (aim)'),
            ]
    return cases, targets
