from .depth_uncertainty_metric import DepthUncertaintyMetric
from .action_metric import ActionAccuracy
from .ex_coco_metric import ExCocoMetric
from .functional import ExCOCOeval
from .presence_metric import PresenceAccuracy
from .tac_metric import TACMetric

__all__ = [
    'ExCocoMetric', 'ExCOCOeval', 'PresenceAccuracy', 'TACMetric',
    'DepthUncertaintyMetric', 'ActionAccuracy'
]
