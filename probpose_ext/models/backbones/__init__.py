from .ca_tcn import CATCN
from .efficientnet_lite import EfficientNetLite
from .graph_mlp import GraphMLPLifter
from .partition_former import SkeletonPartitionFormer
from .stgcn import STGCN

__all__ = [
    'CATCN', 'EfficientNetLite', 'GraphMLPLifter', 'SkeletonPartitionFormer',
    'STGCN'
]
