from .ca_tcn import CATCN
from .efficientnet_lite import EfficientNetLite
from .graph_mlp import GraphMLPLifter
from .stgcn import STGCN

__all__ = ['CATCN', 'EfficientNetLite', 'GraphMLPLifter', 'STGCN']
