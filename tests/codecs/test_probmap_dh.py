"""ProbMapDH codec: encoding against brute force, decoding against the
ProbMap codec + the DH rule, hand-made maps on both sides of the expert
window's boundary."""
import numpy as np
import pytest
import torch
from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS

from probpose_ext.codecs import ProbMap, ProbMapDH
from probpose_ext.ops import (ap_kernel_variance_ratio, decode_expected_oks,
                              expected_oks_at, oks_variance_nominal)
from tests.ops._maps import random_prob

INPUT, HEATMAP = (96, 128), (24, 32)
F = 1.25
# sizes where the input window's edges fall on wide-map pixel centres:
# offset (f-1)(W-1)/(2f) = 1 (x) and 2 (y), scale (W-1)/(f(w-1)) = 0.2
SMALL_IN, SMALL_HM = (41, 81), (11, 21)


def _codec(**kwargs):
    cfg = dict(type='ProbMapDH', input_size=INPUT, heatmap_size=HEATMAP)
    cfg.update(kwargs)
    return KEYPOINT_CODECS.build(cfg)


def test_built_from_registry():
    codec = _codec()
    assert isinstance(codec, ProbMapDH) and isinstance(codec, ProbMap)
    assert codec.wide_factor == 1.25
    assert _codec(wide_factor=2).wide_factor == 2.0
    for bad in (0.9, float('inf')):
        with pytest.raises(ValueError, match='wide_factor'):
            _codec(wide_factor=bad)
    for key in ('keypoint_labels_wide', 'oks_variance_wide',
                'keypoint_weights_wide', 'keypoint_labels'):
        assert codec.label_mapping_table[key] == key


def _encode_inputs(seed=0, n=3):
    rng = np.random.default_rng(seed)
    kpts = rng.uniform([-25, -30], [120, 160], (n, 17, 2)).astype(np.float32)
    w, h = INPUT
    kpts[0, :6] = [[-11.875, 0], [-11.9, 0], [106.875, 142.875],
                   [106.875, 142.9], [0, 0], [w - 1, h - 1]]
    raw = rng.integers(0, 4, (n, 17))
    raw[0, :6] = 2
    return kpts, raw


def test_encode_expert_items_are_probmaps():
    kpts, raw = _encode_inputs()
    area = np.array([900.0, 1500.0, 400.0])
    scale = np.array([[80.0, 110.0], [100.0, 130.0], [60.0, 70.0]])
    dh = _codec().encode(kpts, np.minimum(raw, 1), area, scale, raw)
    ref = ProbMap(INPUT, HEATMAP).encode(kpts, np.minimum(raw, 1), area,
                                         scale, raw)
    for key, value in ref.items():
        np.testing.assert_array_equal(dh[key], value, err_msg=key)


def test_encode_wide_items_brute_force():
    kpts, raw = _encode_inputs()
    codec = _codec(wide_factor=F)
    enc = codec.encode(kpts, np.minimum(raw, 1),
                       area=np.array([900.0, 1500.0, 400.0]),
                       bbox_scale=np.array([[80.0, 110.0]] * 3),
                       keypoints_visibility_raw=raw)
    w, h = INPUT
    W, H = HEATMAP
    margin_x, margin_y = (F - 1) * (w - 1) / 2, (F - 1) * (h - 1) / 2
    for n in range(kpts.shape[0]):
        for k in range(17):
            x, y = map(float, kpts[n, k])
            label = [(x + margin_x) * (W - 1) / (F * (w - 1)),
                     (y + margin_y) * (H - 1) / (F * (h - 1))]
            np.testing.assert_allclose(enc['keypoint_labels_wide'][n, k],
                                       label, rtol=1e-5, atol=1e-5)
            inside = (-margin_x <= x <= w - 1 + margin_x
                      and -margin_y <= y <= h - 1 + margin_y)
            assert enc['keypoint_weights_wide'][n, k] == float(
                inside and raw[n, k] > 0), (n, k)
    np.testing.assert_allclose(enc['oks_variance_wide'],
                               enc['oks_variance'] / F**2, rtol=1e-6)
    # the hand-made points: on the wide boundary in, just beyond it out
    assert enc['keypoint_weights_wide'][0, :6].tolist() == [1, 0, 1, 0, 1, 1]
    # the wide map trains on more keypoints than the expert map, never less
    assert (enc['keypoint_weights_wide'] >= enc['keypoint_weights']).all()
    assert enc['keypoint_weights_wide'].sum() > enc['keypoint_weights'].sum()
    for key in ('keypoint_labels_wide', 'oks_variance_wide',
                'keypoint_weights_wide'):
        assert enc[key].dtype == np.float32, key


def test_generate_target_packs_the_wide_labels():
    """Through MMPose's GenerateTarget + PackPoseInputs the wide labels
    land in gt_instance_labels (label_mapping_table)."""
    kpts, raw = _encode_inputs(n=1)
    cfg = dict(type='ProbMapDH', input_size=INPUT, heatmap_size=HEATMAP)
    results = dict(
        img=np.zeros((INPUT[1], INPUT[0], 3), np.uint8),
        transformed_keypoints=kpts, keypoints=kpts,
        keypoints_visible=np.minimum(raw, 1).astype(np.float32),
        keypoints_visibility_raw=raw, area=np.array([900.0]),
        bbox_scale=np.array([[80.0, 110.0]]), bbox=np.zeros((1, 4)),
        id=0, img_id=0, img_path='', ori_shape=INPUT[::-1],
        img_shape=INPUT[::-1], input_size=INPUT, input_center=np.zeros(2),
        input_scale=np.ones(2), flip=False, flip_direction=None,
        flip_indices=list(range(17)))
    results = TRANSFORMS.build(dict(type='GenerateTarget', encoder=cfg))(
        results)
    packed = TRANSFORMS.build(dict(type='PackPoseInputs'))(results)
    labels = packed['data_samples'].gt_instance_labels
    enc = ProbMapDH(INPUT, HEATMAP).encode(
        kpts, np.minimum(raw, 1), np.array([900.0]),
        np.array([[80.0, 110.0]]), raw)
    for key in ('keypoint_labels_wide', 'oks_variance_wide',
                'keypoint_weights_wide'):
        np.testing.assert_allclose(labels[key].numpy(), enc[key])


def _one_hot(k, h, w, pixels):
    maps = torch.zeros(1, k, h, w)
    for j, (x, y) in enumerate(pixels):
        maps[0, j, y, x] = 1.0
    return maps


def test_decode_hand_made_maps_inside_outside_and_on_the_boundary():
    """One-hot maps decode to their pixel exactly. The wide map's estimate
    inside the expert window (boundary included) defers to the expert's."""
    codec = ProbMapDH(SMALL_IN, SMALL_HM, wide_factor=F)
    w, h = SMALL_IN
    # wide pixels -> input: x = (x_w - 1) / 0.2, y = (y_w - 2) / 0.2
    wide_px = [(5, 10), (0, 10), (1, 10), (9, 18), (10, 10), (5, 20)]
    expected_wide = [((x - 1) / 0.2, (y - 2) / 0.2) for x, y in wide_px]
    assert expected_wide[2] == (0, 40) and expected_wide[3] == (w - 1, h - 1)
    expert_px = [(3, 4), (0, 7), (2, 2), (8, 19), (9, 1), (4, 20)]
    k = len(wide_px)
    codec.sigmas = codec.sigmas[:k]
    maps = torch.stack([_one_hot(k, 21, 11, expert_px)[0],
                        _one_hot(k, 21, 11, wide_px)[0]])
    kpts, scores = codec.decode(maps)
    _, _, from_expert = codec.decode_double(maps[:1], maps[1:])
    assert from_expert[0].tolist() == [True, False, True, True, False, False]
    sx, sy = 10 / 40, 20 / 80
    for j in range(k):
        want = ((expert_px[j][0] / sx, expert_px[j][1] / sy)
                if from_expert[0, j] else expected_wide[j])
        np.testing.assert_allclose(kpts[0, j], want, atol=1e-4)
    np.testing.assert_allclose(scores, 1.0)  # a one-hot map: E[OKS] = 1


@pytest.mark.parametrize('decision', ['expected_oks', 'coco_ap'])
def test_batch_decode_equals_probmap_and_wide_decoding_and_the_rule(
        decision):
    codec = _codec(decision=decision)
    expert = random_prob(3, 17, 32, 24, seed=1, dtype=torch.float32)
    wide = random_prob(3, 17, 32, 24, seed=2, dtype=torch.float32)
    # concentrate some wide maps near the wide map's border (estimate out
    # of the expert window) and others at its centre (in)
    wide[:, :8] = 0
    wide[:, :4, 1, 1] = 1
    wide[:, 4:8, 15:17, 11:13] = 0.25
    kpts, scores = codec.batch_decode(torch.stack([expert, wide], 1))
    exp_k, exp_s = ProbMap(INPUT, HEATMAP,
                           decision=decision).batch_decode(expert)
    var = oks_variance_nominal(codec.sigmas, HEATMAP, 1.25) / F**2
    if decision == 'expected_oks':
        wide_hm, wide_s = decode_expected_oks(wide, var)
    else:  # decided with the AP kernel, scored by expected OKS
        wide_hm, _ = decode_expected_oks(wide,
                                         var * ap_kernel_variance_ratio())
        wide_s = expected_oks_at(wide, wide_hm, var)
    w, h = INPUT
    W, H = HEATMAP
    wide_in = wide_hm.numpy() * [F * (w - 1) / (W - 1), F * (h - 1) / (H - 1)]
    wide_in -= [(F - 1) * (w - 1) / 2, (F - 1) * (h - 1) / 2]
    n_expert = 0
    for i in range(3):
        for j in range(17):
            x, y = wide_in[i, j]
            if 0 <= x <= w - 1 and 0 <= y <= h - 1:
                n_expert += 1
                np.testing.assert_allclose(kpts[i][0, j], exp_k[i][0, j],
                                           rtol=1e-5, atol=1e-3)
                assert scores[i][0, j] == pytest.approx(exp_s[i][0, j])
            else:
                np.testing.assert_allclose(kpts[i][0, j], wide_in[i, j],
                                           rtol=1e-5, atol=1e-3)
                assert scores[i][0, j] == pytest.approx(wide_s[i, j].item())
    assert 0 < n_expert < 3 * 17
    one_k, one_s = codec.decode(torch.stack([expert[1], wide[1]]))
    np.testing.assert_allclose(one_k, kpts[1], rtol=1e-6)
    np.testing.assert_allclose(one_s, scores[1], rtol=1e-6)


@pytest.mark.parametrize('decision', ['expected_oks', 'coco_ap'])
def test_factor_one_with_equal_maps_is_probmap(decision):
    prob = random_prob(2, 17, 32, 24, seed=3, dtype=torch.float32)
    kpts, scores = _codec(wide_factor=1.0, decision=decision).batch_decode(
        torch.stack([prob, prob], 1))
    ref_k, ref_s = ProbMap(INPUT, HEATMAP,
                           decision=decision).batch_decode(prob)
    for a, b in zip(kpts, ref_k):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    for a, b in zip(scores, ref_s):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_decode_bad_input():
    codec = _codec()
    prob = random_prob(1, 17, 32, 24, dtype=torch.float32)
    with pytest.raises(ValueError, match=r'\(2, K, H, W\)'):
        codec.decode(prob[0])
    with pytest.raises(ValueError, match=r'\(B, 2, K, H, W\)'):
        codec.batch_decode(prob)
    bad = torch.stack([prob, prob], 1).clone()
    bad[0, 1, 3, 2, 2] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        codec.batch_decode(bad)
    with pytest.raises(ValueError, match='one shape'):
        codec.decode_double(prob, prob[:, :3])
