"""2D keypoint noise transforms of lifting pipelines: noise statistics in
pixels and normalised units, temporal correlation (TAGN) versus i.i.d.,
probability, ranges, invisible keypoints, shapes, seeds, and the noise seen
after MMPose's ``GenerateTarget`` with the ``VideoPoseLifting`` codec."""
import math

import numpy as np
import pytest
from mmpose.registry import TRANSFORMS

import probpose_ext  # noqa: F401  (registration)
from probpose_ext.datasets.transforms import (KeypointGaussianNoise,
                                              TemporalGaussianNoise)
from probpose_ext.datasets.transforms.keypoint_noise import BaseKeypointNoise

K = 17
W, H = 1000, 1002  # Human3.6M camera image sizes


def _results(frames=27, vis=None, seed=0):
    """A mocap-dataset sample: keypoints (T, K, 2), visibility (T, K)."""
    rng = np.random.default_rng(seed)
    kpts = rng.uniform(200, 800, size=(frames, K, 2)).astype(np.float32)
    if vis is None:
        vis = np.ones((frames, K), np.float32)
    return dict(keypoints=kpts, keypoints_visible=vis,
                lifting_target=rng.normal(size=(1, K, 3)).astype(np.float32),
                lifting_target_visible=np.ones((1, K), np.float32),
                camera_param=dict(w=W, h=H))


def _noise(transform, results):
    before = results['keypoints'].astype(np.float64).copy()
    out = transform(results)
    return out['keypoints'].astype(np.float64) - before


def _lag_corr(noise, lag):
    """Autocorrelation along axis 0 pooled over series (zero-mean noise)."""
    return float((noise[lag:] * noise[:-lag]).mean() / (noise**2).mean())


def test_build_and_repr():
    tagn = TRANSFORMS.build(dict(type='TemporalGaussianNoise', std=0.01,
                                 corr_len=4, seed=0))
    iid = TRANSFORMS.build(dict(type='KeypointGaussianNoise',
                                std=(0.001, 0.02)))
    assert isinstance(tagn, TemporalGaussianNoise)
    assert isinstance(iid, KeypointGaussianNoise)
    assert isinstance(tagn, BaseKeypointNoise) \
        and isinstance(iid, BaseKeypointNoise)
    assert 'corr_len=(4.0, 4.0)' in repr(tagn)
    assert 'std=(0.001, 0.02)' in repr(iid)


def test_argument_errors():
    with pytest.raises(TypeError, match='did you mean'):
        TRANSFORMS.build(dict(type='TemporalGaussianNoise', corrlen=3))
    with pytest.raises(TypeError):
        TRANSFORMS.build(dict(type='KeypointGaussianNoise', corr_len=3))
    for bad in (dict(std=-1.0), dict(std=(0.02, 0.01)), dict(std='a'),
                dict(unit='px'), dict(prob=1.5), dict(corr_len=-2)):
        with pytest.raises(ValueError):
            TemporalGaussianNoise(**bad)
    with pytest.raises(KeyError, match='camera_param'):
        res = _results()
        del res['camera_param']
        KeypointGaussianNoise(std=0.01)(res)


@pytest.mark.parametrize('cls', [KeypointGaussianNoise,
                                 TemporalGaussianNoise])
def test_std_in_pixels_is_std_times_half_width(cls):
    # normalised units: pixel std = std * w / 2 = 0.01 * 500 = 5
    t = cls(std=0.01, seed=1)
    noise = _noise(t, _results(frames=3000))
    assert noise.std() == pytest.approx(5.0, rel=0.03)
    assert abs(noise.mean()) < 0.05 * 5.0
    # pixel units
    noise = _noise(cls(std=3.0, unit='pixel', seed=2),
                   _results(frames=3000))
    assert noise.std() == pytest.approx(3.0, rel=0.03)


def test_tagn_is_temporally_correlated_and_iid_is_not():
    corr_len = 4.0
    tagn = _noise(TemporalGaussianNoise(std=0.01, corr_len=corr_len,
                                        seed=3), _results(frames=4000))
    rho = math.exp(-1.0 / corr_len)
    assert _lag_corr(tagn, 1) == pytest.approx(rho, abs=0.02)
    assert _lag_corr(tagn, 3) == pytest.approx(rho**3, abs=0.02)
    # different joints and coordinates are independent
    assert abs(np.corrcoef(tagn[:, 0, 0], tagn[:, 1, 0])[0, 1]) < 0.1
    assert abs(np.corrcoef(tagn[:, 0, 0], tagn[:, 0, 1])[0, 1]) < 0.1
    iid = _noise(KeypointGaussianNoise(std=0.01, seed=3),
                 _results(frames=4000))
    assert abs(_lag_corr(iid, 1)) < 0.02


def test_prob_zero_is_the_identity_and_prob_is_a_frequency():
    res = _results()
    before = res['keypoints'].copy()
    out = TemporalGaussianNoise(std=0.05, prob=0.0, seed=0)(res)
    np.testing.assert_array_equal(out['keypoints'], before)
    t = KeypointGaussianNoise(std=0.05, prob=0.3, seed=4)
    applied = [np.any(_noise(t, _results(frames=2)) != 0)
               for _ in range(1000)]
    assert np.mean(applied) == pytest.approx(0.3, abs=0.05)


def test_std_range_is_sampled_per_sample():
    t = KeypointGaussianNoise(std=(0.001, 0.02), seed=5)
    stds = np.array([_noise(t, _results(frames=400)).std() / (W / 2)
                     for _ in range(200)])
    # each sample's std is one draw from [0.001, 0.02] (measured on 13600
    # values, so within ~2% of the draw)
    assert stds.min() > 0.001 * 0.9 and stds.max() < 0.02 * 1.1
    assert stds.mean() == pytest.approx(0.0105, rel=0.1)
    assert stds.std() > 0.003  # uniform on the range: 0.0055


def test_invisible_keypoints_are_skipped():
    vis = np.ones((50, K), np.float32)
    vis[:, 4] = 0.0
    vis[10, 7] = 0.0
    noise = _noise(TemporalGaussianNoise(std=0.01, seed=6),
                   _results(frames=50, vis=vis))
    assert not noise[:, 4].any() and not noise[10, 7].any()
    assert np.all(noise[:, 5] != 0)
    noise = _noise(TemporalGaussianNoise(std=0.01, seed=6,
                                         skip_invisible=False),
                   _results(frames=50, vis=vis))
    assert np.all(noise != 0)


def test_shapes_dtype_and_extra_coordinates():
    t = TemporalGaussianNoise(std=0.01, corr_len=2, seed=7)
    res = _results()
    out = t(res)
    assert out['keypoints'].dtype == np.float32
    assert out['keypoints'].shape == (27, K, 2)
    # (1, T, K, 3): only x and y change; time is axis -3
    kpts = np.zeros((1, 500, K, 3), np.float32)
    res = dict(keypoints=kpts.copy(), keypoints_visible=np.ones((1, 500, K)),
               camera_param=dict(w=W, h=H))
    out = t(res)['keypoints']
    assert out.shape == (1, 500, K, 3) and not out[..., 2].any()
    assert _lag_corr(out[0, ..., :2], 1) == pytest.approx(math.exp(-0.5),
                                                          abs=0.05)
    # one frame (K, 2)
    res = dict(keypoints=np.zeros((K, 2)), camera_param=dict(w=W, h=H))
    assert t(res)['keypoints'].shape == (K, 2)


def test_seeds_and_global_rng():
    a = _noise(TemporalGaussianNoise(std=0.01, seed=11), _results())
    b = _noise(TemporalGaussianNoise(std=0.01, seed=11), _results())
    np.testing.assert_array_equal(a, b)
    t = TemporalGaussianNoise(std=0.01)
    np.random.seed(0)
    c = _noise(t, _results())
    d = _noise(t, _results())
    np.random.seed(0)
    np.testing.assert_array_equal(_noise(t, _results()), c)
    assert not np.array_equal(c, d)


def test_noise_after_generate_target_is_in_normalised_units():
    """Through MMPose's lifting codec the input noise has std ``std``."""
    pipeline = [
        dict(type='TemporalGaussianNoise', std=0.01, corr_len=3, seed=8),
        dict(type='GenerateTarget',
             encoder=dict(type='VideoPoseLifting', num_keypoints=K,
                          concat_vis=True)),
    ]
    noisy_t, generate = (TRANSFORMS.build(cfg) for cfg in pipeline)
    clean = generate(_results(frames=2000, seed=9))['keypoint_labels']
    noisy = generate(noisy_t(_results(frames=2000, seed=9)))[
        'keypoint_labels']
    assert noisy.shape == (3 * K, 2000)  # (K*C, T), channel 3k + c
    diff = (noisy - clean).reshape(K, 3, 2000)
    assert not diff[:, 2].any()  # confidences untouched
    assert diff[:, :2].std() == pytest.approx(0.01, rel=0.05)
