"""ActionAccuracy on hand-made predictions."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement
from mmpose.registry import METRICS

import probpose_ext  # noqa: F401


def _sample(score, label, as_dict):
    s = BaseDataElement()
    s.pred_score = torch.tensor(score)
    s.gt_label = torch.tensor([label])
    return s.to_dict() if as_dict else s


@pytest.mark.parametrize('as_dict', [True, False])
def test_hand_made_predictions(as_dict):
    init_default_scope('mmpose')
    metric = METRICS.build(dict(type='ActionAccuracy', topk=(1, 2)))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    preds = [([0.1, 0.7, 0.2], 1), ([0.5, 0.3, 0.2], 1),
             ([0.2, 0.3, 0.5], 0), ([0.6, 0.3, 0.1], 0)]
    metric.process({}, [_sample(s, y, as_dict) for s, y in preds[:2]])
    metric.process({}, [_sample(s, y, as_dict) for s, y in preds[2:]])
    out = metric.evaluate(4)
    assert out['acc/top1'] == pytest.approx(0.5)
    assert out['acc/top2'] == pytest.approx(0.75)
    # class 0: 1 of 2 right, class 1: 1 of 2 right
    assert out['acc/mean1'] == pytest.approx(0.5)


def test_missing_fields_and_bad_topk():
    init_default_scope('mmpose')
    metric = METRICS.build(dict(type='ActionAccuracy'))
    with pytest.raises(KeyError, match='pred_score'):
        metric.process({}, [dict(gt_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='topk'):
        METRICS.build(dict(type='ActionAccuracy', topk=(0, )))
