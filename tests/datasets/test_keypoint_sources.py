"""2D sources of lifters: files, prediction dumps, the COCO->H36M mapped
covariance factor, and SampleKeypoints2D's draws."""
import pickle

import numpy as np
import pytest
from mmpose.registry import TRANSFORMS

import probpose_ext  # noqa: F401  (registers the transforms)
from probpose_ext.datasets.keypoint_sources import (gt_source, noisy_source,
                                                    prediction_source,
                                                    read_distribution,
                                                    read_predictions,
                                                    read_source, write_source)
from probpose_ext.ops.joint_mapping import (COCO_TO_H36M_WEIGHTS,
                                            map_covariance)


def _spd(rng, n, d):
    half = rng.normal(size=(n, d, d))
    return half @ np.swapaxes(half, -1, -2) + np.eye(d)


def _dump(path, rng, n, cov_key=None):
    samples = []
    for row in rng.permutation(n):  # order of the dump does not matter
        pred = dict(
            keypoints=rng.uniform(0, 300, (1, 17, 2)),
            keypoint_scores=rng.uniform(size=(1, 17)))
        if cov_key == 'keypoints_cov_full':
            pred[cov_key] = _spd(rng, 1, 34)
        elif cov_key == 'keypoints_cov':
            pred[cov_key] = _spd(rng, 17, 2)[None]
        samples.append(dict(img_id=int(row) + 1, pred_instances=pred))
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return {s['img_id'] - 1: s['pred_instances'] for s in samples}


def test_write_and_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    kpts, scores = rng.normal(size=(5, 17, 2)), rng.uniform(size=(5, 17))
    factor = rng.normal(size=(5, 34, 34))
    out = write_source(str(tmp_path / 'a' / 'src'), kpts, scores, factor)
    det = np.load(out['det_file'])
    assert det.shape == (5, 17, 3) and det.dtype == np.float32
    k2, s2 = read_source(out['det_file'])
    np.testing.assert_allclose(k2, kpts, rtol=1e-6)
    np.testing.assert_allclose(s2, scores, rtol=1e-6)
    mean, f2 = read_distribution(out['dist_file'])
    np.testing.assert_allclose(mean, kpts, rtol=1e-6)
    np.testing.assert_allclose(f2, factor, rtol=1e-6)
    with pytest.raises(ValueError, match='scores'):
        write_source(str(tmp_path / 'b'), kpts, scores[:, :3])
    with pytest.raises(ValueError, match='factor'):
        write_source(str(tmp_path / 'c'), kpts, scores, factor[:, :4])


def test_gt_and_noisy_sources():
    rng = np.random.default_rng(1)
    part = np.concatenate([rng.normal(size=(4000, 17, 2)),
                           np.ones((4000, 17, 1))], -1)
    kpts, scores = gt_source(dict(part=part))
    np.testing.assert_array_equal(kpts, part[..., :2])
    assert (scores == 1).all()
    noisy = noisy_source(kpts, 3.0, seed=5)
    assert abs((noisy - kpts).std() - 3.0) < 0.05
    np.testing.assert_array_equal(noisy, noisy_source(kpts, 3.0, seed=5))
    np.testing.assert_array_equal(noisy_source(kpts, 0.0, 1), kpts)


@pytest.mark.parametrize('cov_key',
                         [None, 'keypoints_cov', 'keypoints_cov_full'])
def test_predictions_are_ordered_and_mapped(tmp_path, cov_key):
    rng = np.random.default_rng(2)
    dump = str(tmp_path / 'preds.pkl')
    truth = _dump(dump, rng, 6, cov_key)
    preds = read_predictions(dump, 6)
    for row, pred in truth.items():
        np.testing.assert_array_equal(preds['keypoints'][row],
                                      pred['keypoints'][0])
    kpts, scores, factor = prediction_source(preds)
    assert kpts.shape == (6, 17, 2) and scores.shape == (6, 17)
    if cov_key is None:
        assert factor is None
        return
    # F F^T equals the mapped covariance (up to the Cholesky jitter)
    cov = preds['cov']
    expect = map_covariance(cov)
    got = factor @ np.swapaxes(factor, -1, -2)
    jitter = map_covariance(
        np.broadcast_to(1e-3 * np.eye(34), (6, 34, 34)).copy())
    np.testing.assert_allclose(got, expect + jitter, rtol=1e-8, atol=1e-8)


def test_incomplete_dump_is_refused(tmp_path):
    rng = np.random.default_rng(3)
    dump = str(tmp_path / 'preds.pkl')
    _dump(dump, rng, 4)
    with pytest.raises(ValueError, match='1 of 5 frames'):
        read_predictions(dump, 5)
    with pytest.raises(ValueError, match='not a frame'):
        read_predictions(dump, 3)


def _write_dist(tmp_path, rng, n=10):
    mean = rng.uniform(0, 100, (n, 17, 2))
    cov = _spd(rng, 1, 34)[0]
    factor = np.broadcast_to(np.linalg.cholesky(cov), (n, 34, 34))
    out = write_source(str(tmp_path / 'tic_train'), mean, np.ones((n, 17)),
                       factor)
    return out['dist_file'], mean, cov


def test_sample_keypoints_2d_draws_the_distribution(tmp_path):
    rng = np.random.default_rng(4)
    dist_file, mean, cov = _write_dist(tmp_path, rng)
    t = TRANSFORMS.build(
        dict(type='SampleKeypoints2D', dist_file=dist_file, seed=0))
    rows = np.array([3, 4, 5])
    draws = []
    for _ in range(4000):
        res = t(dict(img_ids=rows, keypoints=np.zeros((3, 17, 2),
                                                      np.float32)))
        assert res['keypoints'].dtype == np.float32
        draws.append(res['keypoints'][1].reshape(34))
    draws = np.array(draws, dtype=np.float64)
    np.testing.assert_allclose(
        draws.mean(0), mean[4].reshape(34), atol=0.15 * np.sqrt(cov.max()))
    emp = np.cov(draws.T)
    assert np.abs(emp - cov).max() < 0.12 * np.abs(cov).max()


def test_sample_keypoints_2d_scale_zero_gives_means(tmp_path):
    rng = np.random.default_rng(5)
    dist_file, mean, _ = _write_dist(tmp_path, rng)
    t = TRANSFORMS.build(
        dict(type='SampleKeypoints2D', dist_file=dist_file, scale=0.0))
    res = t(dict(img_ids=np.array([7]), keypoints=np.zeros((1, 1, 17, 2))))
    assert res['keypoints'].shape == (1, 1, 17, 2)
    np.testing.assert_allclose(res['keypoints'][0, 0], mean[7], rtol=1e-6)


def test_sample_keypoints_2d_bad_input(tmp_path):
    rng = np.random.default_rng(6)
    dist_file, _, _ = _write_dist(tmp_path, rng)
    t = TRANSFORMS.build(
        dict(type='SampleKeypoints2D', dist_file=dist_file))
    with pytest.raises(KeyError, match='img_ids'):
        t(dict(keypoints=np.zeros((1, 17, 2))))
    with pytest.raises(IndexError, match='outside'):
        t(dict(img_ids=np.array([10]), keypoints=np.zeros((1, 17, 2))))
    with pytest.raises(ValueError, match='do not match'):
        t(dict(img_ids=np.array([1]), keypoints=np.zeros((2, 17, 2))))
    with pytest.raises(ValueError, match='scale'):
        TRANSFORMS.build(dict(type='SampleKeypoints2D', dist_file=dist_file,
                              scale=-1))


def test_rewriting_the_same_source_keeps_the_files(tmp_path):
    """Caches key on modification times: identical content is not
    rewritten, changed content is."""
    import os
    rng = np.random.default_rng(7)
    kpts, scores = rng.normal(size=(3, 17, 2)), np.ones((3, 17))
    factor = rng.normal(size=(3, 34, 34))
    out = write_source(str(tmp_path / 's'), kpts, scores, factor)
    for path in out.values():
        os.utime(path, ns=(1, 1))
    write_source(str(tmp_path / 's'), kpts, scores, factor)
    assert all(os.stat(p).st_mtime_ns == 1 for p in out.values())
    write_source(str(tmp_path / 's'), kpts + 1, scores, factor)
    assert all(os.stat(p).st_mtime_ns != 1 for p in out.values())
