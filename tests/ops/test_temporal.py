"""Lifting ops: AR(1) noise statistics, the confidence-aware (normalised)
convolution against a loop over its definition, the skeleton adjacency
against a direct computation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from probpose_ext.ops.temporal import (ar1_coefficient, normalized_conv1d,
                                       skeleton_adjacency,
                                       temporally_correlated_noise)


def _autocorr(noise: np.ndarray, lag: int) -> float:
    """Sample autocorrelation at ``lag`` along axis 0, pooled over series
    (the noise is zero-mean by construction)."""
    return float((noise[lag:] * noise[:-lag]).mean() / (noise**2).mean())


@pytest.mark.parametrize('corr_len', [2.0, 5.0])
def test_ar1_noise_statistics(corr_len):
    rng = np.random.default_rng(0)
    std = 0.7
    # 200 frames x 500 series: 1e5 samples, correlation error ~ 0.01
    noise = temporally_correlated_noise(rng, (200, 100, 5), std, corr_len)
    assert noise.shape == (200, 100, 5)
    rho = math.exp(-1.0 / corr_len)
    assert ar1_coefficient(corr_len) == pytest.approx(rho)
    # stationary marginal: the first and the last frames have std `std`
    assert noise[0].std() == pytest.approx(std, rel=0.08)
    assert noise[-1].std() == pytest.approx(std, rel=0.08)
    assert noise.std() == pytest.approx(std, rel=0.05)
    assert abs(noise.mean()) < 0.05 * std
    for lag in (1, 3):
        assert _autocorr(noise, lag) == pytest.approx(rho**lag, abs=0.03)


def test_iid_noise_and_limits():
    rng = np.random.default_rng(1)
    noise = temporally_correlated_noise(rng, (400, 50, 2), 2.0, 0.0)
    assert noise.std() == pytest.approx(2.0, rel=0.03)
    for lag in (1, 3):
        assert abs(_autocorr(noise, lag)) < 0.03
    # corr_len = inf: constant over time, N(0, std^2) across series
    const = temporally_correlated_noise(rng, (10, 2000, 1), 0.5, math.inf)
    np.testing.assert_array_equal(const, np.broadcast_to(const[:1],
                                                         const.shape))
    assert const[0].std() == pytest.approx(0.5, rel=0.08)
    # std 0 and a single frame
    assert not temporally_correlated_noise(rng, (5, 3, 2), 0.0, 3.0).any()
    assert temporally_correlated_noise(rng, (1, 3, 2), 1.0, 3.0).shape \
        == (1, 3, 2)
    with pytest.raises(ValueError):
        temporally_correlated_noise(rng, (5, 3, 2), -1.0, 3.0)
    with pytest.raises(ValueError):
        ar1_coefficient(-1.0)


def test_noise_is_reproducible_with_a_seed():
    a = temporally_correlated_noise(np.random.default_rng(5), (6, 4, 2), 1.0,
                                    3.0)
    b = temporally_correlated_noise(np.random.default_rng(5), (6, 4, 2), 1.0,
                                    3.0)
    np.testing.assert_array_equal(a, b)


def _brute_normalized_conv1d(x, conf, weight, bias, stride, dilation, eps,
                             padding):
    """Direct loops over the definition (float64)."""
    x, conf, weight = (t.double() for t in (x, conf, weight))
    B, channels, T = x.shape
    G = conf.shape[1]
    Cg = channels // G
    O, _, k = weight.shape
    T_out = (T + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = torch.zeros(B, O, T_out, dtype=torch.float64)
    conf_out = torch.zeros(B, O, T_out, dtype=torch.float64)
    for b in range(B):
        for o in range(O):
            total = weight[o].abs().sum().item()
            for t in range(T_out):
                num = den = 0.0
                for j in range(k):
                    s = t * stride + j * dilation - padding
                    if not 0 <= s < T:
                        continue  # padded frame: confidence 0
                    for ch in range(channels):
                        c = conf[b, ch // Cg, s].item()
                        w = weight[o, ch, j].item()
                        num += w * c * x[b, ch, s].item()
                        den += abs(w) * c
                value = num / (den + eps) * total
                if bias is not None:
                    value += bias[o].item()
                out[b, o, t] = value
                conf_out[b, o, t] = den / total
    return out, conf_out


@pytest.mark.parametrize('stride,dilation,padding,groups', [
    (1, 1, 0, 3), (1, 2, 0, 6), (3, 1, 0, 2), (1, 1, 2, 3)])
def test_normalized_conv1d_against_loops(stride, dilation, padding, groups):
    gen = torch.Generator().manual_seed(stride * 10 + dilation + padding)
    B, channels, T, O, k = 2, 6, 11, 4, 3
    x = torch.randn(B, channels, T, generator=gen)
    conf = torch.rand(B, groups, T, generator=gen)
    conf[0, 0, 4] = 0.0
    weight = torch.randn(O, channels, k, generator=gen)
    bias = torch.randn(O, generator=gen)
    out, conf_out = normalized_conv1d(x, conf, weight, bias, stride,
                                      dilation, 1e-6, padding)
    ref, ref_conf = _brute_normalized_conv1d(x, conf, weight, bias, stride,
                                             dilation, 1e-6, padding)
    assert out.shape == ref.shape
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(conf_out.double(), ref_conf, rtol=1e-5,
                               atol=1e-6)
    assert conf_out.min() >= 0 and conf_out.max() <= 1 + 1e-6


def test_full_confidence_is_the_plain_convolution():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 34, 27, generator=gen)
    weight = torch.randn(16, 34, 3, generator=gen) * 0.1
    bias = torch.randn(16, generator=gen)
    conf = torch.ones(3, 17, 27)
    for stride, dilation in ((1, 1), (1, 3), (3, 1)):
        out, conf_out = normalized_conv1d(x, conf, weight, bias, stride,
                                          dilation)
        ref = F.conv1d(x, weight, bias, stride, 0, dilation)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(conf_out, torch.ones_like(conf_out))
    # constant confidence c: the same output, propagated confidence c
    out, conf_out = normalized_conv1d(x, 0.3 * conf, weight, bias)
    torch.testing.assert_close(out, F.conv1d(x, weight, bias), rtol=1e-4,
                               atol=1e-4)
    torch.testing.assert_close(conf_out, torch.full_like(conf_out, 0.3))


def test_zero_confidence_frame_contributes_nothing():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 10, 9, generator=gen)
    conf = torch.rand(2, 5, 9, generator=gen) + 0.1
    conf[:, 3, 4] = 0.0  # joint 3 at frame 4
    weight = torch.randn(8, 10, 3, generator=gen)
    out, conf_out = normalized_conv1d(x, conf, weight, dilation=2)
    x2 = x.clone()
    x2[:, 6:8, 4] = torch.randn(2, 2, generator=gen) * 100.0
    out2, conf_out2 = normalized_conv1d(x2, conf, weight, dilation=2)
    torch.testing.assert_close(out2, out, rtol=0, atol=0)
    torch.testing.assert_close(conf_out2, conf_out, rtol=0, atol=0)
    # other joints' values at that frame do matter
    x3 = x.clone()
    x3[:, 0, 4] += 1.0
    assert not torch.allclose(normalized_conv1d(x3, conf, weight,
                                                dilation=2)[0], out)
    # all confidences zero: the output is the bias, confidence 0
    bias = torch.randn(8, generator=gen)
    out0, conf0 = normalized_conv1d(x, torch.zeros_like(conf), weight, bias)
    torch.testing.assert_close(out0, bias.view(1, 8, 1).expand_as(out0))
    assert not conf0.any()


def test_normalized_output_is_a_bounded_average():
    gen = torch.Generator().manual_seed(3)
    # non-negative weights, one group: a confidence-weighted average
    x = torch.randn(4, 1, 20, generator=gen)
    conf = torch.rand(4, 1, 20, generator=gen) * 1e-3  # tiny confidences
    weight = torch.rand(1, 1, 5, generator=gen)
    out, _ = normalized_conv1d(x, conf, weight, eps=1e-12)
    windows = x.unfold(2, 5, 1)  # (B, 1, T', 5)
    w_c = weight[0, 0] * conf.unfold(2, 5, 1)
    ref = (w_c * windows).sum(-1) / w_c.sum(-1) * weight.sum()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_normalized_conv1d_shape_errors():
    with pytest.raises(ValueError):
        normalized_conv1d(torch.zeros(1, 5, 4), torch.ones(1, 2, 4),
                          torch.zeros(3, 5, 1))
    with pytest.raises(ValueError):
        normalized_conv1d(torch.zeros(1, 4, 4), torch.ones(1, 2, 4),
                          torch.zeros(3, 6, 1))


def test_skeleton_adjacency_against_direct_computation():
    links = [(0, 1), (1, 2), (0, 3)]
    adj = skeleton_adjacency(4, links)
    # A + I and degrees written out by hand
    a_hat = np.array([[1, 1, 0, 1], [1, 1, 1, 0], [0, 1, 1, 0],
                      [1, 0, 0, 1]], dtype=np.float64)
    deg = np.array([3, 3, 2, 2], dtype=np.float64)
    ref = np.array([[a_hat[i, j] / math.sqrt(deg[i] * deg[j])
                     for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(adj.numpy(), ref, rtol=1e-6)
    np.testing.assert_array_equal(
        skeleton_adjacency(4, links, normalize=False).numpy(), a_hat)
    np.testing.assert_array_equal(
        skeleton_adjacency(4, links, normalize=False,
                           self_loops=False).numpy(), a_hat - np.eye(4))
    with pytest.raises(ValueError):
        skeleton_adjacency(3, [(0, 3)])
