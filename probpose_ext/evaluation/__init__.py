from .ex_coco_metric import ExCocoMetric
from .functional import ExCOCOeval
from .presence_metric import PresenceAccuracy

__all__ = ['ExCocoMetric', 'ExCOCOeval', 'PresenceAccuracy']
