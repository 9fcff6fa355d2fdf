"""MMPose's MPJPE metric as the lifters use it (P1 = 'mpjpe', P2 =
'p-mpjpe'): P2 is zero after a known similarity transform of the truth
(rotation, scale, translation) while P1 is not, and P1 is the mean joint
distance."""
import numpy as np
import pytest
from mmpose.registry import METRICS
from mmpose.utils import register_all_modules
from scipy.spatial.transform import Rotation


def _samples(pred, gt):
    return [dict(pred_instances=dict(keypoints=p[None]),
                 gt_instances=dict(lifting_target=g[None],
                                   lifting_target_visible=np.ones((1, 17))),
                 target_img_path=['S9_Walk_1.54138969_000001.jpg'])
            for p, g in zip(pred, gt)]


def _metric(mode, pred, gt):
    register_all_modules()
    metric = METRICS.build(dict(type='MPJPE', mode=mode))
    metric.process([], _samples(pred, gt))
    return metric.compute_metrics(metric.results)


def test_p_mpjpe_removes_a_similarity_transform():
    rng = np.random.default_rng(0)
    gt = rng.normal(scale=0.3, size=(6, 17, 3)) + [0, 0, 5]
    rot = Rotation.from_euler('xyz', [20, -35, 50], degrees=True)
    pred = 1.3 * rot.apply(gt.reshape(-1, 3)).reshape(gt.shape) + [0.4, -1, 2]
    p2 = _metric('p-mpjpe', pred, gt)
    p1 = _metric('mpjpe', pred, gt)
    assert p2['P-MPJPE'] == pytest.approx(0, abs=1e-6)
    brute = np.linalg.norm(pred - gt, axis=-1).mean()
    assert p1['MPJPE'] == pytest.approx(brute, rel=1e-6)
    assert p1['MPJPE'] > 1
    # noise that no similarity explains stays in P2
    noisy = pred + rng.normal(scale=0.01, size=pred.shape)
    assert 0.005 < _metric('p-mpjpe', noisy, gt)['P-MPJPE'] < 0.02
