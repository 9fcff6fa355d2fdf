import math

import numpy as np
import pytest
import torch
from mmpose.registry import DATASETS, KEYPOINT_CODECS

from probpose_ext.codecs import ProbMap
from probpose_ext.utils.metainfo import load_metainfo
from tests.conftest import DATA

INPUT, HEATMAP = (192, 256), (48, 64)
COCO_SIGMAS = load_metainfo()['sigmas']


def _codec(**kwargs):
    return KEYPOINT_CODECS.build(
        dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP,
             **kwargs))


def _gaussian_maps(labels, var_map=1.0):
    ys, xs = np.mgrid[0:HEATMAP[1], 0:HEATMAP[0]]
    maps = np.exp(-((xs[None] - labels[:, 0, None, None])**2 +
                    (ys[None] - labels[:, 1, None, None])**2) / (2 * var_map))
    return maps / maps.sum(axis=(1, 2), keepdims=True)


def test_built_from_registry_with_metainfo_sigmas():
    codec = _codec()
    assert isinstance(codec, ProbMap)
    np.testing.assert_allclose(codec.sigmas, COCO_SIGMAS)
    assert _codec(sigmas=[0.1] * 17).sigmas.tolist() == pytest.approx(
        [0.1] * 17)
    with pytest.raises(ValueError, match='kernel'):
        _codec(kernel='gaussian')
    with pytest.raises(ValueError, match='padding'):
        _codec(padding=0.5)


def test_encode_labels_windows_and_weights():
    codec = _codec()
    kpts = np.zeros((1, 17, 2), np.float32) + 50
    kpts[0, 1] = (-3, 40)      # left of the window
    kpts[0, 2] = (191, 255)    # exactly on the far corner: inside
    kpts[0, 3] = (100, 256.5)  # below the window
    raw = np.full((1, 17), 2)
    raw[0, 4], raw[0, 5], raw[0, 6] = 0, 1, 3
    enc = codec.encode(kpts, np.minimum(raw, 1).astype(np.float32),
                       keypoints_visibility_raw=raw)
    np.testing.assert_allclose(enc['keypoint_labels'][0, 0],
                               [50 * 47 / 191, 50 * 63 / 255], rtol=1e-6)
    np.testing.assert_allclose(enc['keypoint_labels'][0, 2], [47, 63],
                               rtol=1e-6)
    in_window = enc['keypoints_in_window'][0]
    assert in_window[[0, 2]].tolist() == [1, 1]
    assert in_window[[1, 3]].tolist() == [0, 0]
    # the map trains on annotated keypoints inside the window only
    expected = np.ones(17)
    expected[[1, 3, 4]] = 0
    np.testing.assert_array_equal(enc['keypoint_weights'][0], expected)
    # presence trains on every annotated keypoint, in or out
    presence = np.ones(17)
    presence[4] = 0
    np.testing.assert_array_equal(enc['presence_weights'][0], presence)
    vis = np.ones(17)
    vis[[4, 5, 6]] = 0
    np.testing.assert_array_equal(enc['visibility_labels'][0], vis)
    np.testing.assert_array_equal(enc['visibility_weights'][0], presence)
    # without raw visibility the visible/occluded label is unknown
    enc2 = codec.encode(kpts, np.ones((1, 17), np.float32))
    assert enc2['visibility_weights'].sum() == 0
    with pytest.raises(ValueError, match='0, 1, 2, 3'):
        codec.encode(kpts, keypoints_visibility_raw=np.full((1, 17), 4))
    with pytest.raises(ValueError, match='17 keypoints|sigmas'):
        codec.encode(np.zeros((1, 5, 2)))


def test_encode_oks_variances():
    codec = _codec()
    kpts = np.full((2, 17, 2), 60, np.float32)
    area = np.array([5000.0, 800.0])
    window = np.array([[200.0, 266.67], [90.0, 120.0]])
    var = codec.encode(kpts, area=area, bbox_scale=window)['oks_variance']
    for n in range(2):
        for k in (0, 11):
            expected = (area[n] * (2 * COCO_SIGMAS[k])**2 *
                        (48 / window[n, 0]) * (64 / window[n, 1]))
            assert var[n, k] == pytest.approx(expected, rel=1e-5)
    # missing area: MMPose's 0.53 * bbox area, bbox = window / padding
    var_no_area = codec.encode(kpts, bbox_scale=window)['oks_variance']
    bbox_area = window[0, 0] * window[0, 1] / 1.25**2
    assert var_no_area[0, 0] == pytest.approx(
        0.53 * bbox_area * (2 * COCO_SIGMAS[0])**2 * 48 / window[0, 0] * 64 /
        window[0, 1], rel=1e-5)
    # the window's own nominal instance when nothing is known
    var_nominal = codec.encode(kpts)['oks_variance']
    np.testing.assert_allclose(var_nominal[0], codec.decode_variance(),
                               rtol=1e-6)
    assert var_nominal[0, 11] == pytest.approx(
        0.53 * 48 * 64 / 1.25**2 * (2 * COCO_SIGMAS[11])**2, rel=1e-5)
    # authors' kernel: clip((2s)^2 sqrt(H/1.25 W/1.25) 2, 0.55, 3.0)
    authors = _codec(kernel='authors').encode(kpts, area=area,
                                              bbox_scale=window)
    for k in range(17):
        expected = np.clip((2 * COCO_SIGMAS[k])**2 *
                           math.sqrt(64 / 1.25 * 48 / 1.25) * 2, 0.55, 3.0)
        assert authors['oks_variance'][1, k] == pytest.approx(expected,
                                                              rel=1e-5)


# One Newton step on E[OKS] is exact for a quadratic peak. The default
# (instance) kernels are wide enough for < 0.1 input px; the authors' clipped
# narrow kernels (variance 0.55-3 heatmap px^2) leave E[OKS] less quadratic:
# up to ~0.06 heatmap px, i.e. 0.25 input px at stride 4.
@pytest.mark.parametrize('kernel,tol', [('instance', 0.1), ('authors', 0.25)])
def test_round_trip_unimodal(kernel, tol):
    codec = _codec(kernel=kernel)
    rng = np.random.default_rng(0)
    for var_map in (0.5, 1.0, 2.0):
        kpts = rng.uniform([16, 16], [176, 240], (1, 17, 2)).astype(
            np.float32)
        labels = codec.encode(kpts)['keypoint_labels'][0]
        decoded, scores = codec.decode(_gaussian_maps(labels, var_map))
        assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
        assert np.abs(decoded - kpts).max() < tol  # input pixels
        assert ((scores > 0) & (scores <= 1)).all()


def test_bimodal_picks_heavier_mode_not_the_argmax():
    codec = _codec()
    k = 11  # left hip: a wide OKS kernel
    broad = _gaussian_maps(np.array([[12.0, 20.0]]), var_map=6.0)[0]
    spike = np.zeros(HEATMAP[::-1])
    spike[45, 35] = 1.0
    prob = 0.7 * broad + 0.3 * spike
    assert np.unravel_index(prob.argmax(), prob.shape) == (45, 35)
    maps = np.repeat(prob[None], 17, axis=0)
    decoded, _ = codec.decode(maps)
    scale = np.array([191 / 47, 255 / 63])
    np.testing.assert_allclose(decoded[0, k], np.array([12, 20]) * scale,
                               atol=0.3)


def _brute_decision(prob_k, var):
    """Arg-max of the expected-OKS map of kernel variance ``var`` by a
    per-pixel double loop, one Newton step per axis; and that map."""
    H, W = prob_k.shape
    ys, xs = np.mgrid[0:H, 0:W]
    eoks = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            eoks[y, x] = (prob_k * np.exp(
                -((xs - x)**2 + (ys - y)**2) / (2 * var))).sum()
    y0, x0 = np.unravel_index(eoks.argmax(), eoks.shape)
    point = np.array([x0, y0], float)
    for axis, (prev, nxt) in enumerate(
            [(eoks[y0, x0 - 1], eoks[y0, x0 + 1]),
             (eoks[y0 - 1, x0], eoks[y0 + 1, x0])]):
        second = prev - 2 * eoks[y0, x0] + nxt
        if second < 0:
            point[axis] += np.clip(-(nxt - prev) / (2 * second), -.5, .5)
    return point, eoks


def _expected_oks_at(prob_k, point, var):
    H, W = prob_k.shape
    ys, xs = np.mgrid[0:H, 0:W]
    return (prob_k * np.exp(-((xs - point[0])**2 + (ys - point[1])**2) /
                            (2 * var))).sum()


def _sparse_random_maps(seed):
    rng = np.random.default_rng(seed)
    prob = rng.random((17, ) + HEATMAP[::-1]) ** 8
    return prob / prob.sum(axis=(1, 2), keepdims=True)


def test_decode_equals_brute_force_double_loop():
    codec = _codec()
    prob = _sparse_random_maps(3)
    decoded, scores = codec.decode(prob)
    var = codec.decode_variance().numpy().astype(np.float64)
    for k in (0, 5, 11):
        point, eoks = _brute_decision(prob[k], var[k])
        np.testing.assert_allclose(decoded[0, k],
                                   point * [191 / 47, 255 / 63], atol=1e-3)
        assert scores[0, k] == pytest.approx(eoks.max(), rel=1e-4)


def test_coco_ap_decision_uses_the_narrower_kernel_and_scores_by_oks():
    codec = _codec(decision='coco_ap')
    prob = _sparse_random_maps(5)
    decoded, scores = codec.decode(prob)
    var = codec.decode_variance().numpy().astype(np.float64)
    ratio = np.mean(np.log(np.arange(10) * 0.05 + 0.5)**2) / (
        2 * np.mean(-np.log(np.arange(10) * 0.05 + 0.5)))
    np.testing.assert_allclose(codec.decision_variance().numpy(),
                               var * ratio, rtol=1e-6)
    for k in (0, 11):
        point, _ = _brute_decision(prob[k], var[k] * ratio)
        np.testing.assert_allclose(decoded[0, k],
                                   point * [191 / 47, 255 / 63], atol=1e-3)
        # the score is the decision's expected OKS under the OKS kernel
        assert scores[0, k] == pytest.approx(
            _expected_oks_at(prob[k], point, var[k]), rel=1e-3)
    # a broad mode beside a spike: the expected-OKS decision takes the
    # broad mode's centre for a hip, the AP decision the spike
    broad = _gaussian_maps(np.array([[12.0, 20.0]]), var_map=6.0)[0]
    spike = np.zeros(HEATMAP[::-1])
    spike[45, 35] = 1.0
    maps = np.repeat((0.57 * broad + 0.43 * spike)[None], 17, axis=0)
    hip = 11
    oks_dec = _codec().decode(maps)[0][0, hip] / [191 / 47, 255 / 63]
    ap_dec = codec.decode(maps)[0][0, hip] / [191 / 47, 255 / 63]
    assert np.abs(oks_dec - [12, 20]).max() < 0.3
    assert np.abs(ap_dec - [35, 45]).max() < 0.3
    with pytest.raises(ValueError, match='decision'):
        _codec(decision='argmax')


def test_batch_decode_is_vectorised_equivalent_and_checks_input():
    codec = _codec()
    rng = np.random.default_rng(4)
    prob = torch.from_numpy(rng.random((3, 17) + HEATMAP[::-1])).float()
    prob = prob / prob.sum(dim=(2, 3), keepdim=True)
    keypoints, scores = codec.batch_decode(prob)
    assert codec.support_batch_decoding
    for i in range(3):
        single_k, single_s = codec.decode(prob[i])
        np.testing.assert_allclose(keypoints[i], single_k, atol=1e-5)
        np.testing.assert_allclose(scores[i], single_s, atol=1e-6)
    for bad in (float('nan'), float('inf'), -float('inf')):
        broken = prob.clone()
        broken[1, 2, 3, 4] = bad
        with pytest.raises(ValueError, match='NaN'):
            codec.batch_decode(broken)
    # finite values whose sum overflows float32 are not mistaken for NaN/Inf
    huge = prob.clone()
    huge[0, 0] = 3e38
    huge[0, 1] = 3e38
    assert not torch.isfinite(huge.sum())
    codec.batch_decode(huge)
    with pytest.raises(ValueError, match='B, K, H, W'):
        codec.batch_decode(prob[0])


def test_generate_target_in_mmpose_pipeline_on_real_coco():
    from mmpose.utils import register_all_modules
    register_all_modules()
    codec_cfg = dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP)
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=str(DATA / 'coco'),
        ann_file='test_coco.json', data_prefix=dict(img=''),
        data_mode='topdown', pipeline=[
            dict(type='LoadImage'),
            dict(type='GetBBoxCenterScale'),
            dict(type='TopdownAffine', input_size=INPUT, use_udp=True),
            dict(type='GenerateTarget', encoder=codec_cfg),
            dict(type='PackPoseInputs'),
        ]))
    sample = dataset[0]['data_samples']
    labels = sample.gt_instance_labels
    for key in ProbMap.label_mapping_table.values():
        assert isinstance(labels[key], torch.Tensor), key
    assert labels.keypoint_labels.shape == (1, 17, 2)
    assert labels.oks_variance.shape == (1, 17)
    info = dataset.get_data_info(0)
    window = sample.metainfo['input_scale']
    expected = (info['area'][0] if np.ndim(info['area']) else info['area'])
    expected = expected * (2 * COCO_SIGMAS[0])**2 * 48 / window[0] * 64 / \
        window[1]
    assert labels.oks_variance[0, 0].item() == pytest.approx(expected,
                                                             rel=1e-4)
    annotated = info['keypoints_visible'][0] > 0
    np.testing.assert_array_equal(
        labels.presence_weights[0].numpy(), annotated.astype(np.float32))
    assert (labels.keypoint_weights <= labels.presence_weights).all()
