"""Classification head of skeleton action recognisers."""
from typing import Optional

from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor, nn

__all__ = ['SkeletonClsHead']


@MODELS.register_module()
class SkeletonClsHead(BaseModule):
    """Global average pooling over persons, frames and joints, dropout and
    a linear layer: the classifier of ST-GCN (MMAction2's ``GCNHead``).

    Args:
        num_classes (int): Classes K.
        in_channels (int): Channels C of the backbone features.
        dropout (float): Dropout before the linear layer. Defaults to 0.
        init_cfg (dict, optional): Initialisation; defaults to a normal
            initialisation of the linear layer (std 0.01).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1 or in_channels < 1:
            raise ValueError('num_classes and in_channels must be >= 1, got '
                             f'{num_classes} and {in_channels}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: Tensor) -> Tensor:
        """Class logits.

        Args:
            feats (Tensor): Backbone features (N, M, C, T, V).

        Returns:
            Tensor: Logits (N, K).
        """
        if feats.dim() != 5 or feats.shape[2] != self.in_channels:
            raise ValueError(f'features must be (N, M, {self.in_channels}, '
                             f'T, V), got {tuple(feats.shape)}')
        pooled = feats.mean(dim=(1, 3, 4))
        return self.fc(self.dropout(pooled))
