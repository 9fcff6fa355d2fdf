"""Tests of the keypoint-level corruptions of 2D keypoint videos."""
import numpy as np
import pytest

from probpose_ext.ops.keypoint_corruptions import (
    H36M_FLIP_PAIRS, H36M_KEYPOINT_NAMES, H36M_LIMBS, KEYPOINT_CORRUPTIONS,
    KEYPOINT_SEVERITY_PARAMS, corrupt_keypoints, fill_missing, random_spans)

T, K = 200, 17
SCALE = 400.0


@pytest.fixture(scope='module')
def video():
    """Smoothly moving 17-joint pose: every frame differs from the last."""
    rng = np.random.default_rng(0)
    base = rng.uniform(300, 700, (1, K, 2))
    t = np.arange(T)[:, None, None]
    kpts = base + 30 * np.sin(t / 15.0 + np.arange(K)[None, :, None]) \
        + np.array([2.0, 0.5]) * t
    scores = rng.uniform(0.5, 1.0, (T, K))
    return kpts.astype(np.float32), scores.astype(np.float32)


def _run(video, name, severity, seed=0, **kwargs):
    kpts, scores = video
    kwargs.setdefault('scale', SCALE)
    return corrupt_keypoints(kpts, scores, name, severity,
                             np.random.default_rng(seed), **kwargs)


def _strength(video, name, out):
    """Fraction affected (missing / changed frames) or mean displacement
    in units of the scale."""
    kpts, scores = video
    ok, os_ = out
    if name == 'joint_dropout':
        return (os_ == 0).mean()
    if name == 'missing_limb':
        return (os_ == 0).any(1).mean()
    if name in ('jitter', 'bias_drift'):
        return np.linalg.norm(ok - kpts, axis=-1).mean() / SCALE
    return (ok != kpts).any((1, 2)).mean()  # lr_swap, frame_drop


def test_h36m_defaults():
    names = H36M_KEYPOINT_NAMES
    for a, b in H36M_FLIP_PAIRS:
        assert names[a].replace('left', 'right') == names[b] or \
            names[a].replace('right', 'left') == names[b]
    assert [tuple(names[i] for i in limb) for limb in H36M_LIMBS] == [
        ('left_shoulder', 'left_elbow', 'left_wrist'),
        ('right_shoulder', 'right_elbow', 'right_wrist'),
        ('left_hip', 'left_knee', 'left_foot'),
        ('right_hip', 'right_knee', 'right_foot')]


@pytest.mark.parametrize('name', KEYPOINT_CORRUPTIONS)
def test_severity_zero_is_identity(video, name):
    kpts, scores = video
    ok, os_ = _run(video, name, 0)
    assert ok is not kpts and os_ is not scores
    np.testing.assert_array_equal(ok, kpts)
    np.testing.assert_array_equal(os_, scores)


@pytest.mark.parametrize('name', KEYPOINT_CORRUPTIONS)
def test_strength_increases(video, name):
    kpts, scores = video
    k0, s0 = kpts.copy(), scores.copy()
    strength = []
    for s in range(1, 6):
        out = _run(video, name, s, seed=3)
        assert out[0].shape == (T, K, 2) and out[1].shape == (T, K)
        assert out[0].dtype == np.float32 and out[1].dtype == np.float32
        strength.append(_strength(video, name, out))
    assert strength[0] > 0
    assert all(b > a for a, b in zip(strength, strength[1:])), strength
    np.testing.assert_array_equal(kpts, k0)  # inputs untouched
    np.testing.assert_array_equal(scores, s0)


@pytest.mark.parametrize('name', KEYPOINT_CORRUPTIONS)
def test_deterministic(video, name):
    a, b, c = (_run(video, name, 3, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert np.any(a[0] != c[0])


@pytest.mark.parametrize('name,key', [('joint_dropout', 'fraction'),
                                      ('missing_limb', 'fraction'),
                                      ('lr_swap', 'fraction')])
def test_exact_fractions(video, name, key):
    for s in range(1, 6):
        f = KEYPOINT_SEVERITY_PARAMS[name][key][s - 1]
        out = _run(video, name, s, seed=s)
        if name == 'joint_dropout':  # per joint
            np.testing.assert_array_equal((out[1] == 0).sum(0),
                                          round(f * T))
        else:
            assert _strength(video, name, out) == round(f * T) / T


def _centroid_fill(kpts, scores, missing):
    """Loop reference: missing joints at the centroid of present ones."""
    out = kpts.astype(np.float64)
    for t in range(len(kpts)):
        present = (scores[t] > 0) & ~missing[t]
        out[t, missing[t]] = kpts[t, present].astype(np.float64).mean(0)
    return out


def _runs(mask):
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_joint_dropout_centroid_and_spans(video):
    kpts, scores = video
    ok, os_ = _run(video, 'joint_dropout', 4, seed=1)
    missing = os_ == 0
    assert missing.any(1).any() and not missing.all(1).any()
    np.testing.assert_allclose(ok, _centroid_fill(kpts, scores, missing),
                               rtol=1e-6)
    np.testing.assert_array_equal(os_[~missing], scores[~missing])
    span = KEYPOINT_SEVERITY_PARAMS['joint_dropout']['span'][3]
    for k in range(K):
        lengths = _runs(missing[:, k])
        assert lengths.max() - lengths.min() <= 1
        assert abs(lengths.mean() - span) <= span / 2


def test_missing_limb_removes_one_whole_limb_per_span(video):
    kpts, scores = video
    ok, os_ = _run(video, 'missing_limb', 3, seed=2)
    missing = os_ == 0
    limbs = {frozenset(limb) for limb in H36M_LIMBS}
    frames = np.flatnonzero(missing.any(1))
    for t in frames:
        assert frozenset(np.flatnonzero(missing[t]).tolist()) in limbs
    # the same limb within a span
    for t in frames:
        if t - 1 in frames:
            np.testing.assert_array_equal(missing[t], missing[t - 1])
    np.testing.assert_allclose(ok, _centroid_fill(kpts, scores, missing),
                               rtol=1e-6)
    # other frames untouched
    clean = ~missing.any(1)
    np.testing.assert_array_equal(ok[clean], kpts[clean])


def test_jitter_std(video):
    kpts, scores = video
    for s, std in enumerate(KEYPOINT_SEVERITY_PARAMS['jitter']['std'], 1):
        ok, os_ = _run(video, 'jitter', s, seed=s)
        diff = (ok.astype(np.float64) - kpts) / SCALE
        assert diff.std() == pytest.approx(std, rel=0.05)
        assert abs(diff.mean()) < 0.1 * std
        np.testing.assert_array_equal(os_, scores)


def test_scale_per_frame(video):
    video = tuple(v.astype(np.float64) for v in video)
    kpts = video[0]
    scale = np.linspace(100, 500, T)
    ok, _ = _run(video, 'jitter', 5, seed=0, scale=scale)
    ref, _ = _run(video, 'jitter', 5, seed=0, scale=1.0)
    assert ok.dtype == np.float64
    np.testing.assert_allclose(ok - kpts, (ref - kpts) * scale[:, None, None],
                               rtol=1e-6, atol=1e-6)


def test_bias_drift_rms_and_smoothness(video):
    kpts, scores = video
    for s, rms in enumerate(KEYPOINT_SEVERITY_PARAMS['bias_drift']['rms'], 1):
        ok, os_ = _run(video, 'bias_drift', s, seed=4)
        off = (ok.astype(np.float64) - kpts) / SCALE
        per_joint = np.sqrt((off**2).sum(-1).mean(0))
        np.testing.assert_allclose(per_joint, rms, rtol=1e-4)
        # slowly varying: frame-to-frame steps far below the magnitude
        steps = np.linalg.norm(np.diff(off, axis=0), axis=-1)
        assert steps.mean() < 0.1 * rms
        np.testing.assert_array_equal(os_, scores)
    # i.i.d. jitter of the same rms is not smooth
    ok, _ = _run(video, 'jitter', 2, seed=4)
    steps = np.linalg.norm(np.diff((ok - kpts) / SCALE, axis=0), axis=-1)
    assert steps.mean() > 0.5 * KEYPOINT_SEVERITY_PARAMS['jitter']['std'][1]


def test_lr_swap_swaps_exactly_the_pairs(video):
    kpts, scores = video
    ok, os_ = _run(video, 'lr_swap', 5, seed=0)
    swapped = (ok != kpts).any((1, 2))
    perm = np.arange(K)
    for a, b in H36M_FLIP_PAIRS:
        perm[a], perm[b] = b, a
    np.testing.assert_array_equal(ok[swapped], kpts[swapped][:, perm])
    np.testing.assert_array_equal(os_[swapped], scores[swapped][:, perm])
    np.testing.assert_array_equal(ok[~swapped], kpts[~swapped])
    np.testing.assert_array_equal(os_[~swapped], scores[~swapped])
    # centre joints never move
    centre = [0, 7, 8, 9, 10]
    np.testing.assert_array_equal(ok[:, centre], kpts[:, centre])
    # custom pairs
    ok, _ = _run(video, 'lr_swap', 5, seed=0, flip_pairs=[(0, 10)])
    np.testing.assert_array_equal(ok[swapped][:, 0], kpts[swapped][:, 10])
    np.testing.assert_array_equal(ok[swapped][:, 1:10],
                                  kpts[swapped][:, 1:10])


def test_frame_drop_holds_the_last_kept_frame(video):
    kpts, scores = video
    for s in range(1, 6):
        ok, os_ = _run(video, 'frame_drop', s, seed=s)
        dropped = (ok != kpts).any((1, 2))
        assert not dropped[0]
        f = KEYPOINT_SEVERITY_PARAMS['frame_drop']['fraction'][s - 1]
        assert dropped.sum() == round(f * (T - 1))
        last = 0
        for t in range(T):
            if not dropped[t]:
                last = t
            np.testing.assert_array_equal(ok[t], kpts[last])
            np.testing.assert_array_equal(os_[t], scores[last])


def test_fill_missing_rules():
    kpts = np.arange(4 * 3 * 2, dtype=np.float64).reshape(4, 3, 2)
    scores = np.ones((4, 3))
    scores[1, 2] = 0  # not present in the input: not in the centroid
    missing = np.zeros((4, 3), bool)
    missing[0] = True  # a leading empty frame: the next one
    missing[1, 0] = True
    missing[2] = True  # an empty frame: holds frame 1
    out, sc = fill_missing(kpts, scores, missing)
    np.testing.assert_array_equal(out[1, 0], kpts[1, 1])  # only joint 1
    np.testing.assert_array_equal(out[1, 1:], kpts[1, 1:])
    np.testing.assert_array_equal(out[2], out[1])
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[3], kpts[3])
    np.testing.assert_array_equal(sc, np.where(missing, 0, scores))
    everything, sc = fill_missing(kpts, scores, np.ones((4, 3), bool))
    np.testing.assert_allclose(everything,
                               np.repeat(kpts.mean(1, keepdims=True), 3, 1))
    assert (sc == 0).all()


def test_random_spans():
    rng = np.random.default_rng(0)
    for length, fraction, span in [(200, 0.3, 10), (50, 0.9, 5), (7, 0.5, 1),
                                   (10, 1.0, 3), (10, 0.0, 3), (0, 0.5, 2)]:
        mask = random_spans(rng, length, fraction, span)
        assert mask.shape == (length, ) and mask.dtype == bool
        assert mask.sum() == round(fraction * length)
        if mask.any() and not mask.all():
            lengths = _runs(mask)
            assert lengths.max() - lengths.min() <= 1
    with pytest.raises(ValueError):
        random_spans(rng, 10, 1.5, 2)


def test_short_videos():
    kpts = np.zeros((1, K, 2), np.float32) + 5
    scores = np.ones((1, K), np.float32)
    for name in KEYPOINT_CORRUPTIONS:
        ok, os_ = corrupt_keypoints(kpts, scores, name, 5,
                                    np.random.default_rng(0), scale=100.0)
        assert ok.shape == (1, K, 2) and os_.shape == (1, K)
        assert np.isfinite(ok).all()


def test_errors(video):
    kpts, scores = video
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='joint_dropout'):  # lists choices
        corrupt_keypoints(kpts, scores, 'blur', 1, rng)
    for severity in (-1, 6, 2.0, True):
        with pytest.raises(ValueError, match='severity'):
            corrupt_keypoints(kpts, scores, 'jitter', severity, rng,
                              scale=1.0)
    with pytest.raises(ValueError, match=r'\(T, K, 2\)'):
        corrupt_keypoints(kpts[..., :1], scores, 'jitter', 1, rng, scale=1.0)
    with pytest.raises(ValueError, match='scores'):
        corrupt_keypoints(kpts, scores[:, :3], 'jitter', 1, rng, scale=1.0)
    with pytest.raises(ValueError, match='scale'):
        corrupt_keypoints(kpts, scores, 'jitter', 1, rng)
    with pytest.raises(ValueError, match='scale'):
        corrupt_keypoints(kpts, scores, 'bias_drift', 1, rng, scale=-1.0)
    with pytest.raises(ValueError, match='scale'):
        corrupt_keypoints(kpts, scores, 'bias_drift', 1, rng,
                          scale=np.ones(T - 1))
    with pytest.raises(ValueError, match='flip_pairs'):
        corrupt_keypoints(kpts, scores, 'lr_swap', 1, rng,
                          flip_pairs=[(1, 17)])
    with pytest.raises(ValueError, match='two pairs'):
        corrupt_keypoints(kpts, scores, 'lr_swap', 1, rng,
                          flip_pairs=[(1, 4), (4, 5)])
    with pytest.raises(ValueError, match='limbs'):
        corrupt_keypoints(kpts, scores, 'missing_limb', 1, rng,
                          limbs=[(1, 2), ()])
    with pytest.raises(TypeError, match='Generator'):
        corrupt_keypoints(kpts, scores, 'jitter', 1, np.random.RandomState(0),
                          scale=1.0)
