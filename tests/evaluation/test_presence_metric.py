import numpy as np
import pytest
from mmpose.registry import METRICS

from probpose_ext.evaluation import PresenceAccuracy


def _sample(kpts, visible, presence, center=(50., 50.), scale=(40., 60.)):
    return dict(
        gt_instances=dict(keypoints=np.array([kpts], float),
                          keypoints_visible=np.array([visible], float)),
        pred_instances=dict(keypoint_presence=np.array([presence], float)),
        input_center=np.array(center), input_scale=np.array(scale))


def test_accuracy_on_hand_made_samples():
    metric = METRICS.build(dict(type='PresenceAccuracy', thr=0.5))
    assert isinstance(metric, PresenceAccuracy)
    # window x in [30, 70], y in [20, 80]
    samples = [
        _sample([[50, 50], [10, 50], [69, 79], [71, 50]], [1, 1, 1, 0],
                [0.9, 0.2, 0.4, 0.9]),  # in/ok, out/ok, in/wrong, unannot.
        _sample([[50, 10], [40, 40]], [1, 1], [0.7, 0.5]),  # out/wrong, in/ok
    ]
    metric.process([], samples)
    result = metric.compute_metrics(metric.results)
    # annotated: 5; correct: 3; inside: 3 (2 correct), outside: 2 (1 correct)
    assert result['acc'] == pytest.approx(3 / 5)
    assert result['out_ratio'] == pytest.approx(2 / 5)
    assert result['balanced_acc'] == pytest.approx(0.5 * (2 / 3 + 1 / 2))


def test_errors():
    with pytest.raises(ValueError, match='thr'):
        PresenceAccuracy(thr=2)
    metric = PresenceAccuracy()
    bad = _sample([[1, 1]], [1], [0.5])
    del bad['pred_instances']['keypoint_presence']
    with pytest.raises(KeyError, match='ProbMapHead'):
        metric.process([], [bad])
