# Copyright (c) probpose_ext contributors. All rights reserved.
"""Temporal convolutional lifter with confidence-aware convolutions (CA-Conv,
Hoang et al. 2024) on top of the VideoPose3D architecture of MMPose's
``TCN`` (Pavllo et al. 2019)."""
import copy
from typing import Optional, Sequence, Tuple

from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from ...ops.temporal import normalized_conv1d


class NormalizedConv1d(nn.Conv1d):
    """``nn.Conv1d`` (same parameters and initialisation) evaluated as the
    confidence-aware convolution :func:`probpose_ext.ops.temporal.
    normalized_conv1d`.

    Args:
        in_channels (int): Input channels ``G * Cg``.
        out_channels (int): Output channels O.
        kernel_size (int): Kernel size k.
        conf_groups (int): Number of confidence groups G (each of ``Cg =
            in_channels / G`` consecutive channels). Defaults to
            ``in_channels`` (one confidence per channel).
        stride (int): Stride. Defaults to 1.
        dilation (int): Dilation. Defaults to 1.
        bias (bool): Learn a bias. Defaults to True.
        eps (float): Added to the denominator. Defaults to 1e-6.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int, conf_groups: Optional[int] = None,
                 stride: int = 1, dilation: int = 1, bias: bool = True,
                 eps: float = 1e-6) -> None:
        super().__init__(in_channels, out_channels, kernel_size,
                         stride=stride, dilation=dilation, bias=bias)
        self.conf_groups = in_channels if conf_groups is None \
            else int(conf_groups)
        if in_channels % self.conf_groups:
            raise ValueError(f'in_channels ({in_channels}) must be a '
                             f'multiple of conf_groups ({self.conf_groups})')
        self.eps = float(eps)

    def forward(self, x: Tensor, conf: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, G*Cg, T), (B, G, T) -> output and its confidence, each
        (B, O, T')."""
        return normalized_conv1d(x, conf, self.weight, self.bias,
                                 self.stride[0], self.dilation[0], self.eps)


class ConvBNReLU(nn.Module):
    """Convolution (plain or confidence-aware, no bias) + BN1d + ReLU.

    Args:
        conv (nn.Conv1d): The convolution (a :class:`NormalizedConv1d` takes
            a confidence argument too).
    """

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm1d(conv.out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor,
                conf: Optional[Tensor] = None
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Returns the activation and the propagated confidence (``conf``
        unchanged for a plain convolution)."""
        if isinstance(self.conv, NormalizedConv1d):
            x, conf = self.conv(x, conf)
        else:
            x = self.conv(x)
        return self.relu(self.bn(x)), conf


class CATemporalBlock(nn.Module):
    """VideoPose3D residual block (like MMPose's ``BasicTemporalBlock``):
    conv(k, dilation d) - BN - ReLU - dropout - conv(1) - BN - ReLU -
    dropout, plus the centre-cropped input.

    With ``propagate_conf`` both convolutions are confidence-aware with one
    confidence per channel, and the output confidence is the mean of the
    branch's and the (cropped) input's confidences.

    Args:
        channels (int): Input, hidden and output channels.
        kernel_size (int): Temporal kernel size k.
        dilation (int): Dilation d (ignored with ``use_stride_conv``).
        dropout (float): Dropout rate.
        residual (bool): Add the shortcut.
        use_stride_conv (bool): Strided (stride k, dilation 1) instead of
            dilated convolution, for inputs exactly one receptive field long.
        propagate_conf (bool): Use and propagate confidences.
        eps (float): Denominator offset of the confidence-aware convs.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int,
                 dropout: float, residual: bool, use_stride_conv: bool,
                 propagate_conf: bool, eps: float) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.use_stride_conv = use_stride_conv
        self.residual = residual
        self.propagate_conf = propagate_conf
        self.pad = (kernel_size - 1) * dilation // 2
        stride, dilation = (kernel_size, 1) if use_stride_conv \
            else (1, dilation)
        if propagate_conf:
            conv1 = NormalizedConv1d(channels, channels, kernel_size,
                                     stride=stride, dilation=dilation,
                                     bias=False, eps=eps)
            conv2 = NormalizedConv1d(channels, channels, 1, bias=False,
                                     eps=eps)
        else:
            conv1 = nn.Conv1d(channels, channels, kernel_size, stride=stride,
                              dilation=dilation, bias=False)
            conv2 = nn.Conv1d(channels, channels, 1, bias=False)
        self.layer1 = ConvBNReLU(conv1)
        self.layer2 = ConvBNReLU(conv2)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def _crop(self, x: Tensor) -> Tensor:
        """The input frames aligned with the output frames."""
        if self.use_stride_conv:
            return x[:, :, self.kernel_size // 2::self.kernel_size]
        return x[:, :, self.pad:x.shape[2] - self.pad]

    def forward(self, x: Tensor,
                conf: Optional[Tensor] = None
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """(B, C, T), (B, C, T) or None -> (B, C, T'), (B, C, T') or None."""
        out, out_conf = self.layer1(x, conf if self.propagate_conf else None)
        out, out_conf = self.layer2(self.dropout(out), out_conf)
        out = self.dropout(out)
        if self.residual:
            out = out + self._crop(x)
            if self.propagate_conf:
                out_conf = (out_conf + self._crop(conf)) / 2
        return out, out_conf if self.propagate_conf else None


@MODELS.register_module()
class CATCN(BaseBackbone):
    """VideoPose3D temporal convolutional network whose first layer is a
    confidence-aware convolution (CA-Conv) over (x, y, confidence) inputs.

    The input is the ``VideoPoseLifting(concat_vis=True)`` codec's (B, K*3,
    T) tensor, channel ``3k + c`` with c = 0, 1, 2 for x, y and the joint's
    confidence (``keypoints_visible``, a detector's score). The expand layer
    is :func:`probpose_ext.ops.temporal.normalized_conv1d` over the K*2
    (x, y) channels grouped per joint, each group weighted by its joint's
    confidence: a zero-confidence frame of a joint contributes nothing, and
    low-confidence frames are down-weighted relative to the others in the
    window (the output is renormalised by the window's confidence mass).
    The confidence is not a feature channel itself. Then BN, ReLU, dropout
    and ``num_blocks`` residual blocks with kernels ``kernel_sizes[1:]`` and
    dilations ``prod(kernel_sizes[:i])`` as in MMPose's ``TCN``. With
    ``propagate_conf`` the blocks' convolutions are confidence-aware too,
    fed with the confidence propagated from the previous layer (one per
    channel; see :class:`CATemporalBlock`).

    An input of ``prod(kernel_sizes)`` frames (the receptive field, 27 for
    ``(3, 3, 3)``) gives one output frame, the centre frame, of shape
    (B, stem_channels, 1) for ``TemporalRegressionHead(in_channels=
    stem_channels)``.

    Args:
        in_channels (int): Input channels, ``3 * num_keypoints``.
            Defaults to 51 (17 joints).
        stem_channels (int): Feature channels. Defaults to 1024.
        num_blocks (int): Number of residual blocks, ``len(kernel_sizes) -
            1``. Defaults to 2.
        kernel_sizes (Sequence[int]): Odd kernel sizes of the expand layer
            and of each block. Defaults to ``(3, 3, 3)``.
        dropout (float): Dropout rate. Defaults to 0.25.
        residual (bool): Residual connections. Defaults to True.
        use_stride_conv (bool): Strided instead of dilated convolutions (as
            MMPose's ``TCN``: for training batches whose inputs are exactly
            one receptive field long; the weights are interchangeable).
            Defaults to False.
        propagate_conf (bool): Confidence-aware block convolutions fed with
            the propagated confidence. Defaults to False.
        eps (float): Denominator offset of the confidence-aware
            convolutions. Defaults to 1e-6.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming (fan in, ReLU) convolutions and unit BNs.

    Note:
        - B: batch size
        - K: number of joints
        - C: channels per joint, 3 (x, y, confidence)
        - T: number of frames

        Not supported (unlike MMPose's ``TCN``): causal convolutions and the
        ``max_norm`` weight clipping.
    """

    def __init__(self,
                 in_channels: int = 51,
                 stem_channels: int = 1024,
                 num_blocks: int = 2,
                 kernel_sizes: Sequence[int] = (3, 3, 3),
                 dropout: float = 0.25,
                 residual: bool = True,
                 use_stride_conv: bool = False,
                 propagate_conf: bool = False,
                 eps: float = 1e-6,
                 init_cfg: OptConfigType = [
                     dict(type='Kaiming', mode='fan_in',
                          nonlinearity='relu', layer=['Conv1d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        if in_channels % 3:
            raise ValueError('CATCN takes (x, y, confidence) per joint '
                             '(VideoPoseLifting(concat_vis=True)): '
                             f'in_channels must be a multiple of 3, got '
                             f'{in_channels}')
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if num_blocks != len(kernel_sizes) - 1:
            raise ValueError(f'num_blocks ({num_blocks}) must be '
                             f'len(kernel_sizes) - 1 ({kernel_sizes})')
        if any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'kernel sizes must be odd, got {kernel_sizes}')
        self.in_channels = in_channels
        self.num_joints = in_channels // 3
        self.stem_channels = stem_channels
        self.num_blocks = num_blocks
        self.kernel_sizes = kernel_sizes
        self.use_stride_conv = use_stride_conv
        self.propagate_conf = propagate_conf

        self.expand = ConvBNReLU(
            NormalizedConv1d(
                2 * self.num_joints, stem_channels, kernel_sizes[0],
                conf_groups=self.num_joints,
                stride=kernel_sizes[0] if use_stride_conv else 1,
                bias=False, eps=eps))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.blocks = nn.ModuleList()
        dilation = kernel_sizes[0]
        for kernel in kernel_sizes[1:]:
            self.blocks.append(
                CATemporalBlock(stem_channels, kernel, dilation, dropout,
                                residual, use_stride_conv, propagate_conf,
                                eps))
            dilation *= kernel

    @property
    def receptive_field(self) -> int:
        """Input frames per output frame, ``prod(kernel_sizes)``."""
        field = 1
        for kernel in self.kernel_sizes:
            field *= kernel
        return field

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward function.

        Args:
            x (Tensor): Codec input, shape (B, K*3, T).

        Returns:
            tuple[Tensor]: The blocks' outputs (the expand layer's when
            ``num_blocks`` is 0), the last of shape (B, stem_channels,
            T - receptive_field + 1) (``T // receptive_field`` frames with
            ``use_stride_conv``).
        """
        batch, channels, frames = x.shape
        if channels != self.in_channels:
            raise ValueError(f'CATCN expects (B, {self.in_channels}, T) '
                             f'inputs, got {tuple(x.shape)}')
        joints = x.reshape(batch, self.num_joints, 3, frames)
        coords = joints[:, :, :2].reshape(batch, 2 * self.num_joints, frames)
        conf = joints[:, :, 2]
        feat, feat_conf = self.expand(coords, conf)
        feat = self.dropout(feat)
        outs = []
        for block in self.blocks:
            feat, feat_conf = block(feat, feat_conf)
            outs.append(feat)
        return tuple(outs) if outs else (feat, )
