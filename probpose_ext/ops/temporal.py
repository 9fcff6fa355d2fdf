"""Maths of 2D-to-3D lifting on keypoint sequences: temporally correlated
Gaussian noise (TAGN), the confidence-aware (normalised) 1-D convolution
(CA-Conv) and the normalised skeleton adjacency of graph layers.

Temporally correlated noise (:func:`temporally_correlated_noise`). Temporal
Additive Gaussian Noise (TAGN, Hoang et al. 2024, "Improving the Robustness
of 3D Human Pose Estimation: A Benchmark and Learning from Noisy Input")
perturbs 2D input poses with noise that drifts smoothly over the frames, as
2D detectors' errors do, instead of i.i.d. jitter. We model it as a
zero-mean stationary Gaussian AR(1) process per coordinate::

    e_0 ~ N(0, std^2)
    e_t = rho e_{t-1} + sqrt(1 - rho^2) std z_t,   z_t ~ N(0, 1) i.i.d.
    rho = exp(-1 / corr_len)

whose marginal is ``N(0, std^2)`` at every frame and whose autocorrelation
is ``rho^|lag| = exp(-|lag| / corr_len)``; ``corr_len = 0`` gives i.i.d.
noise and ``corr_len = inf`` a constant offset per sequence. (The
exponential autocorrelation is our model of "temporally correlated"; the
paper's abstract does not fix the kernel.)

Normalised convolution (:func:`normalized_conv1d`). Knutsson & Westin
(1993) separate a signal ``f`` from its certainty ``c`` and a filter from
its applicability ``a``; the normalised convolution ``(a * (c f)) / (a *
c)`` is a certainty-weighted local average in which missing samples
(``c = 0``) have no influence. Eldesokey et al. (2018, "Propagating
Confidences through CNNs for Sparse Data Regression") made it a network
layer with non-negative weights that also propagates the certainty. Hoang
et al.'s CA-Conv brings 2D detectors' confidence scores into a lifter's
temporal convolution in this spirit; only the paper's abstract could be
consulted, so the exact form below (applicability ``|w|``, confidence
groups, rescaling by ``sum |w|``) is this project's specification, not a
transcription of the paper. The filter weights ``w`` are unconstrained (a
plain convolution's, so full confidence reproduces it) and the
applicability is ``|w|``::

    num[b, o, t]  = sum_{g, c, j} w[o, g Cg + c, j] conf[b, g, s(t, j)]
                                  x[b, g Cg + c, s(t, j)]
    a[o, g, j]    = sum_c |w[o, g Cg + c, j]|           (applicability)
    den[b, o, t]  = sum_{g, j} a[o, g, j] conf[b, g, s(t, j)]
    A[o]          = sum_{g, j} a[o, g, j] = sum |w[o]|
    out[b, o, t]  = num / (den + eps) * A[o] + bias[o]
    conf_out      = den / A[o]                          (in [0, 1])

with ``s(t, j) = t stride + j dilation - padding`` (zero-padded frames
have confidence 0). With all confidences 1, ``den = A`` and ``out`` is the
plain convolution (up to ``eps``); a frame with zero confidence contributes
exactly nothing; ``|num / den| <= max |x|`` in the window, so the output
stays bounded however small the confidences are. ``conf_out`` is the
applicability-weighted mean confidence of the window, the certainty that
Eldesokey et al. propagate to the next normalised layer. Deviation from
Eldesokey et al.: the numerator uses the signed weights (they constrain
``w >= 0`` so that numerator and denominator use the same filter).

Skeleton adjacency (:func:`skeleton_adjacency`): the symmetric normalised
adjacency with self loops ``D^-1/2 (A + I) D^-1/2`` of Kipf & Welling's
graph convolution, used by the graph layers of the lifting backbones.

Note:
    - B: batch size
    - T: number of frames
    - K: number of keypoints (joints)
    - C: coordinates / channels per keypoint
    - G: number of confidence groups (e.g. joints); Cg: channels per group
    - O: output channels; k: kernel size
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'ar1_coefficient', 'temporally_correlated_noise', 'normalized_conv1d',
    'skeleton_adjacency'
]


def ar1_coefficient(corr_len: float) -> float:
    """Lag-1 autocorrelation ``rho = exp(-1 / corr_len)`` of the AR(1) noise.

    Args:
        corr_len (float): Correlation length in frames, ``>= 0``; 0 means
            i.i.d. (``rho = 0``), ``inf`` a constant (``rho = 1``).

    Returns:
        float: ``rho`` in ``[0, 1]``.
    """
    corr_len = float(corr_len)
    if not corr_len >= 0.0:  # also rejects NaN
        raise ValueError(f'corr_len must be >= 0, got {corr_len}')
    if corr_len == 0.0:
        return 0.0
    return math.exp(-1.0 / corr_len)


def temporally_correlated_noise(rng: np.random.Generator,
                                shape: Sequence[int],
                                std: float,
                                corr_len: float) -> np.ndarray:
    """Stationary Gaussian AR(1) noise along the first axis (time).

    Every series ``noise[:, i, c]`` is independent of the others, has
    marginal ``N(0, std^2)`` at every frame (the first frame is drawn from
    the stationary distribution) and autocorrelation
    ``exp(-|lag| / corr_len)``.

    Args:
        rng (np.random.Generator): Source of randomness (anything with a
            ``standard_normal(size)`` method, e.g. a ``RandomState``).
        shape (Sequence[int]): Output shape ``(T, K, C)`` (any shape whose
            first axis is time).
        std (float): Marginal standard deviation, ``>= 0``.
        corr_len (float): Correlation length in frames, ``>= 0`` (0: i.i.d.,
            ``inf``: one constant offset per series).

    Returns:
        np.ndarray: Noise of shape ``shape``, float64.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0 or shape[0] < 0:
        raise ValueError(f'shape must start with the number of frames, got '
                         f'{shape}')
    std = float(std)
    if not std >= 0.0:
        raise ValueError(f'std must be >= 0, got {std}')
    rho = ar1_coefficient(corr_len)
    z = rng.standard_normal(size=shape)
    if rho == 0.0 or shape[0] <= 1:
        return std * z
    # the AR(1) recursion x_t = rho x_{t-1} + sqrt(1 - rho^2) z_t unrolled:
    # x = A z with A[t, s] = rho^(t - s) (times sqrt(1 - rho^2) for s > 0),
    # one matrix product instead of a loop over frames
    innovation = math.sqrt(max(1.0 - rho * rho, 0.0))
    lag = np.subtract.outer(np.arange(shape[0]), np.arange(shape[0]))
    mix = np.where(lag >= 0, rho**np.maximum(lag, 0), 0.0)
    mix[:, 1:] *= innovation
    noise = (mix @ z.reshape(shape[0], -1)).reshape(shape)
    return std * noise


def normalized_conv1d(x: Tensor,
                      conf: Tensor,
                      weight: Tensor,
                      bias: Optional[Tensor] = None,
                      stride: int = 1,
                      dilation: int = 1,
                      eps: float = 1e-8,
                      padding: int = 0) -> Tuple[Tensor, Tensor]:
    """Confidence-aware (normalised) 1-D convolution, see the module doc.

    The ``G Cg`` input channels form ``G`` consecutive groups of ``Cg``
    channels (channel ``g Cg + c``) that share the confidence ``conf[:, g]``
    (e.g. the x and y of joint ``g``). ``Cg = 1`` gives every channel its
    own confidence (as propagated by a previous normalised layer).

    Args:
        x (Tensor): Input, shape (B, G*Cg, T).
        conf (Tensor): Confidences in ``[0, 1]``, shape (B, G, T).
        weight (Tensor): Filter, shape (O, G*Cg, k).
        bias (Tensor, optional): Bias, shape (O,). Defaults to None.
        stride (int): Stride. Defaults to 1.
        dilation (int): Dilation. Defaults to 1.
        eps (float): Added to the denominator. Defaults to 1e-8.
        padding (int): Zero padding (of value and confidence) on both sides.
            Defaults to 0.

    Returns:
        tuple[Tensor, Tensor]:
        - out (Tensor): Output, shape (B, O, T') with
          ``T' = (T + 2 padding - dilation (k - 1) - 1) // stride + 1``.
        - conf_out (Tensor): Propagated confidence ``den / sum |w|``, shape
          (B, O, T'), in ``[0, 1]`` for confidences in ``[0, 1]`` (0 where
          the filter is all zeros).
    """
    if x.dim() != 3 or conf.dim() != 3 or weight.dim() != 3:
        raise ValueError('x, conf and weight must be 3-D, got shapes '
                         f'{tuple(x.shape)}, {tuple(conf.shape)}, '
                         f'{tuple(weight.shape)}')
    num_groups = conf.shape[1]
    channels = x.shape[1]
    if channels % num_groups or conf.shape[0] != x.shape[0] \
            or conf.shape[2] != x.shape[2] or weight.shape[1] != channels:
        raise ValueError(
            f'incompatible shapes: x {tuple(x.shape)} (B, G*Cg, T), conf '
            f'{tuple(conf.shape)} (B, G, T), weight {tuple(weight.shape)} '
            '(O, G*Cg, k)')
    group_size = channels // num_groups
    conf = conf.to(x.dtype)
    conf_channels = conf.repeat_interleave(group_size, dim=1)
    num = F.conv1d(x * conf_channels, weight, None, stride, padding,
                   dilation)
    out_channels, _, kernel = weight.shape
    applicability = weight.abs().reshape(out_channels, num_groups,
                                         group_size, kernel).sum(dim=2)
    den = F.conv1d(conf, applicability, None, stride, padding, dilation)
    total = applicability.sum(dim=(1, 2)).reshape(1, out_channels, 1)
    out = num / (den + eps) * total
    if bias is not None:
        out = out + bias.reshape(1, out_channels, 1)
    conf_out = torch.where(total > 0, den / total.clamp_min(1e-30),
                           torch.zeros_like(den))
    return out, conf_out


def skeleton_adjacency(num_joints: int,
                       links: Sequence[Sequence[int]],
                       normalize: bool = True,
                       self_loops: bool = True) -> Tensor:
    """Adjacency matrix of a skeleton graph.

    Args:
        num_joints (int): Number of joints K.
        links (Sequence[Sequence[int]]): Undirected edges ``(i, j)``.
        normalize (bool): Return ``D^-1/2 (A + I) D^-1/2`` (D: degrees of
            ``A + I``) instead of the 0/1 matrix. Defaults to True.
        self_loops (bool): Add ``I`` to ``A``. Defaults to True.

    Returns:
        Tensor: Symmetric matrix, shape (K, K), float32.
    """
    adj = torch.zeros(num_joints, num_joints, dtype=torch.float64)
    for link in links:
        i, j = (int(v) for v in link)
        if not (0 <= i < num_joints and 0 <= j < num_joints) or i == j:
            raise ValueError(f'invalid skeleton link {tuple(link)} for '
                             f'{num_joints} joints')
        adj[i, j] = adj[j, i] = 1.0
    if self_loops:
        adj = adj + torch.eye(num_joints, dtype=torch.float64)
    if normalize:
        deg = adj.sum(dim=1)
        inv_sqrt = torch.where(deg > 0, deg.clamp_min(1e-30).rsqrt(),
                               torch.zeros_like(deg))
        adj = inv_sqrt[:, None] * adj * inv_sqrt[None, :]
    return adj.float()
