"""Top-k accuracy of action recognisers."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS

from ..ops.skeleton_features import mean_class_accuracy, topk_accuracy
from ..utils.validation import strict_kwargs

__all__ = ['ActionAccuracy']


def _array(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
@strict_kwargs
class ActionAccuracy(BaseMetric):
    """Top-k accuracy and mean class accuracy of ``pred_score`` against
    ``gt_label`` (:func:`~probpose_ext.ops.topk_accuracy`, ties counted as
    correct), named like MMAction2's ``AccMetric``: ``acc/top1``,
    ``acc/top5``, ``acc/mean1``.

    Args:
        topk (Sequence[int]): The k values. Defaults to (1, 5).
        collect_device (str): As in :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric prefix. Defaults to ``'acc'``.
    """

    default_prefix = 'acc'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = tuple(int(k) for k in topk)
        if not topk or min(topk) < 1:
            raise ValueError(f'topk must be ints >= 1, got {topk}')
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else \
                lambda k, s=sample: getattr(s, k, None)
            score, label = get('pred_score'), get('gt_label')
            if score is None or label is None:
                raise KeyError('ActionAccuracy needs pred_score and '
                               'gt_label in every data sample')
            self.results.append((_array(score).astype(np.float64).ravel(),
                                 int(_array(label).ravel()[0])))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results])
        accs = topk_accuracy(scores, labels, self.topk)
        metrics = {f'top{k}': a for k, a in zip(self.topk, accs)}
        metrics['mean1'] = mean_class_accuracy(scores, labels)
        return metrics
