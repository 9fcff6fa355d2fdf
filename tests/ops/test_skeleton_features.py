"""Skeleton-sequence maths against brute force."""
import itertools

import numpy as np
import pytest

from probpose_ext.ops.skeleton_features import (confusion_matrix,
                                                mean_class_accuracy,
                                                normalize_skeleton,
                                                skeleton_features,
                                                topk_accuracy,
                                                uniform_sample_indices)


@pytest.mark.parametrize('total,clip_len', [(100, 48), (48, 48), (97, 10),
                                            (30, 48), (1, 5), (5, 1)])
def test_uniform_sampling_one_frame_per_segment(total, clip_len):
    rng = np.random.default_rng(0)
    for draw in range(20):
        inds = uniform_sample_indices(total, clip_len, 2, rng)
        assert inds.shape == (2, clip_len)
        assert inds.min() >= 0 and inds.max() < total
        for i in range(clip_len):
            # brute force: segment i holds frames t with
            # floor(i T / L) <= t < floor((i + 1) T / L)
            if total >= clip_len:
                segment = [t for t in range(total)
                           if (i * total) // clip_len <= t
                           < ((i + 1) * total) // clip_len]
                assert segment
                assert set(inds[:, i]) <= set(segment)
            else:  # stretched: frame floor(i T / L)
                assert (inds[:, i] == (i * total) // clip_len).all()
        assert (np.diff(inds, axis=1) >= 0).all()


def test_uniform_sampling_covers_each_segment_uniformly():
    rng = np.random.default_rng(1)
    draws = np.concatenate([uniform_sample_indices(12, 3, 1, rng)
                            for _ in range(3000)])
    # segments of 4 frames; each frame ~1/4 of its segment's draws
    for i, seg in enumerate(([0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11])):
        freq = np.bincount(draws[:, i] - seg[0], minlength=4) / len(draws)
        assert np.allclose(freq, 0.25, atol=0.04)


def test_uniform_sampling_test_mode_is_fixed_and_centred():
    a = uniform_sample_indices(100, 10, 1)
    assert (a == uniform_sample_indices(100, 10, 1)).all()
    # segments of 10 frames, middle frame 5
    assert a.tolist() == [[5 + 10 * i for i in range(10)]]
    two = uniform_sample_indices(100, 10, 2)
    assert two[0, 0] == 2 and two[1, 0] == 7  # fractions 0.25 and 0.75


def test_uniform_sampling_rejects_bad_ints():
    with pytest.raises(ValueError, match='clip_len'):
        uniform_sample_indices(10, 0)
    with pytest.raises(ValueError, match='total_frames'):
        uniform_sample_indices(True, 3)


def test_normalize_2d_maps_image_to_unit_square():
    kpt = np.array([[[[0, 0], [1920, 1080], [960, 540]]]], np.float64)
    out = normalize_skeleton(kpt, img_shape=(1080, 1920))
    assert np.allclose(out[0, 0], [[-1, -1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match='img_shape'):
        normalize_skeleton(kpt)


def test_normalize_3d_puts_first_root_at_origin():
    rng = np.random.default_rng(0)
    kpt = rng.normal(size=(2, 5, 4, 3))
    out = normalize_skeleton(kpt, root=2)
    for m in range(2):
        assert np.allclose(out[m], kpt[m] - kpt[m, 0, 2], atol=1e-6)
    assert np.allclose(out[:, 0, 2], 0)


def test_features_against_loops():
    rng = np.random.default_rng(0)
    kpt = rng.normal(size=(1, 4, 3, 2)).astype(np.float32)
    score = rng.uniform(size=(1, 4, 3)).astype(np.float32)
    parents = [0, 0, 1]
    out = skeleton_features(kpt, parents, ('j', 'b', 'jm', 'bm'), score)
    assert out.shape == (1, 4, 3, 12)
    for t, v in itertools.product(range(4), range(3)):
        j = kpt[0, t, v]
        b = j - kpt[0, t, parents[v]]
        jm = kpt[0, t + 1, v] - j if t < 3 else np.zeros(2)
        bm = (kpt[0, t + 1, v] - kpt[0, t + 1, parents[v]] - b
              if t < 3 else np.zeros(2))
        s = score[0, t, v]
        expect = np.concatenate([j, [s], b, [s], jm, [s], bm, [s]])
        assert np.allclose(out[0, t, v], expect, atol=1e-6)
    assert np.allclose(out[..., 0, 3:5], 0)  # the root's bone


def test_features_reject_bad_input():
    kpt = np.zeros((1, 2, 3, 2))
    with pytest.raises(ValueError, match='feats'):
        skeleton_features(kpt, [0, 0, 1], ('x', ))
    with pytest.raises(ValueError, match='parents'):
        skeleton_features(kpt, [0, 0, 3])


def _brute_topk(scores, labels, k):
    hits = 0
    for s, y in zip(scores, labels):
        better = sum(1 for c in range(len(s)) if s[c] > s[y])
        hits += better < k
    return hits / len(labels)


def test_topk_against_brute_force_with_ties():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(200, 7)).astype(float)  # many ties
    labels = rng.integers(0, 7, size=200)
    got = topk_accuracy(scores, labels, (1, 2, 5, 7))
    for k, acc in zip((1, 2, 5, 7), got):
        assert acc == pytest.approx(_brute_topk(scores, labels, k))
    assert got[-1] == 1.0


def test_topk_hand_made():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([1, 1, 0])
    assert topk_accuracy(scores, labels, (1, 2, 3)) == pytest.approx(
        (1 / 3, 2 / 3, 1.0))


def test_mean_class_accuracy_and_confusion():
    scores = np.eye(3)[[0, 0, 1, 2, 2, 2]]
    labels = np.array([0, 1, 1, 2, 2, 0])
    cm = confusion_matrix(scores.argmax(1), labels, 3)
    assert cm.tolist() == [[1, 0, 1], [1, 1, 0], [0, 0, 2]]
    # recalls 1/2, 1/2, 1
    assert mean_class_accuracy(scores, labels) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match='labels'):
        topk_accuracy(scores, np.array([0, 1, 5, 0, 0, 0]))
