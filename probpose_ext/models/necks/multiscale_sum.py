"""A light multi-scale neck: backbone features at several strides summed
at the finest one."""
from typing import Sequence, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn


@MODELS.register_module()
class MultiScaleSumNeck(BaseModule):
    """Project each input to ``out_channels`` with a 1x1 conv, resize all to
    the first (finest) input's size with bilinear interpolation, sum, then
    a 3x3 conv + BN + ReLU.

    With EfficientNet-Lite's stages 2, 4 and 6 (strides 8, 16, 32) this
    gives stride-8 features that see the whole crop: at a 128x96 input a
    stride-32 map alone has 4x3 cells, too coarse to place body joints.

    Note:
        - batch size: B
        - the finest input's size: H, W

    Args:
        in_channels (Sequence[int]): Channels of each input, finest first.
        out_channels (int): Output channels. Defaults to 128.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int = 128,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = [int(c) for c in in_channels]
        if not in_channels or out_channels < 1:
            raise ValueError('in_channels must list at least one input and '
                             f'out_channels be >= 1, got {in_channels}, '
                             f'{out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.lateral = nn.ModuleList(
            nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.fuse = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor]:
        """Args:
            inputs (tuple[Tensor]): Features, the i-th in shape
                (B, in_channels[i], H_i, W_i), finest first.

        Returns:
            tuple[Tensor]: One map in shape (B, out_channels, H, W).
        """
        if len(inputs) != len(self.lateral):
            raise ValueError(f'MultiScaleSumNeck expects {len(self.lateral)}'
                             f' inputs (in_channels={self.in_channels}), got '
                             f'{len(inputs)}')
        size = inputs[0].shape[-2:]
        total = self.lateral[0](inputs[0])
        for conv, x in zip(self.lateral[1:], inputs[1:]):
            total = total + F.interpolate(
                conv(x), size=size, mode='bilinear', align_corners=False)
        return (self.fuse(total), )
