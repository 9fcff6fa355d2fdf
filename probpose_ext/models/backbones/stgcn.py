# Copyright (c) probpose_ext contributors. All rights reserved.
"""Compact spatial-temporal graph convolutional network (ST-GCN, Yan et al.
2018) for skeleton-based action recognition, with MMAction2's backbone
interface ((N, M, T, V, C) in, (N, M, C', T', V) out)."""
import copy
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from ...ops.skeleton_graph import adjacency, skeleton_layout


class GraphConv(nn.Module):
    """Spatial graph convolution of ST-GCN: a 1x1 convolution to ``K *
    out_channels`` channels, then each partition's features are propagated
    with its adjacency matrix and the partitions summed::

        y = conv(x).view(N, K, C_out, T, V)
        out[n, c, t, w] = sum_k sum_v y[n, k, c, t, v] (A * M)[k, v, w]

    (``A[k, v, w]``: weight of node v in the output at node w, see
    :mod:`probpose_ext.ops.skeleton_graph`; M the learnable edge-importance
    mask, or 1).

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out.
        num_subsets (int): Number of partitions K.
        num_nodes (int): Number of joints V (for the importance mask).
        edge_importance (bool): Learn a (K, V, V) mask multiplying the
            adjacency, initialised to ones. Defaults to True.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 num_subsets: int, num_nodes: int,
                 edge_importance: bool = True) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.num_subsets = num_subsets
        self.conv = nn.Conv2d(in_channels, num_subsets * out_channels, 1)
        self.importance = nn.Parameter(
            torch.ones(num_subsets, num_nodes, num_nodes)) \
            if edge_importance else None

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """(B, C_in, T, V), adjacency (K, V, V) -> (B, C_out, T, V)."""
        batch, _, frames, nodes = x.shape
        y = self.conv(x).view(batch, self.num_subsets, self.out_channels,
                              frames, nodes)
        if self.importance is not None:
            adj = adj * self.importance
        return torch.einsum('nkctv,kvw->nctw', y, adj)


class STGCNUnit(nn.Module):
    """One ST-GCN unit: graph conv - BN - ReLU - temporal conv (kernel x 1,
    stride) - BN - dropout, plus the residual, then ReLU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_subsets (int): Number of adjacency partitions K.
        num_nodes (int): Number of joints V.
        stride (int): Temporal stride. Defaults to 1.
        temporal_kernel (int): Odd temporal kernel size. Defaults to 9.
        residual (bool): Add a residual: the identity when the shape is
            unchanged, else a strided 1x1 conv + BN. Defaults to True.
        edge_importance (bool): Learnable adjacency mask. Defaults to True.
        dropout (float): Dropout rate after the temporal BN. Defaults to 0.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 num_subsets: int, num_nodes: int, stride: int = 1,
                 temporal_kernel: int = 9, residual: bool = True,
                 edge_importance: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, num_subsets,
                             num_nodes, edge_importance)
        self.gcn_bn = nn.BatchNorm2d(out_channels)
        pad = (temporal_kernel - 1) // 2
        self.tcn = nn.Conv2d(out_channels, out_channels,
                             (temporal_kernel, 1), stride=(stride, 1),
                             padding=(pad, 0))
        self.tcn_bn = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        if not residual:
            self.residual: Optional[nn.Module] = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """(B, C_in, T, V), adjacency (K, V, V) -> (B, C_out, ceil(T /
        stride), V)."""
        out = self.relu(self.gcn_bn(self.gcn(x, adj)))
        out = self.dropout(self.tcn_bn(self.tcn(out)))
        if self.residual is not None:
            out = out + self.residual(x)
        return self.relu(out)


@MODELS.register_module()
class STGCN(BaseModule):
    """Spatial-temporal graph convolutional network (Yan et al. 2018,
    "Spatial Temporal Graph Convolutional Networks for Skeleton-Based
    Action Recognition") for skeleton sequences.

    The input is normalised by a BatchNorm1d over each joint's channels
    (``data_bn``; V*C features shared by the persons, as in ST-GCN's code,
    so that the network is equivariant to the order of the persons), then
    ``num_stages`` :class:`STGCNUnit` s run on every person independently
    with the shared (K, V, V) adjacency of
    :func:`probpose_ext.ops.skeleton_graph.adjacency` (a buffer ``A``).
    Stage ``i`` (1-based) has ``base_channels * 2^(number of inflate
    stages <= i)`` output channels and temporal stride 2 when ``i`` is in
    ``down_stages``; the first unit has no residual. The defaults are
    ST-GCN's 10-unit network (64, 64, 64, 64, 128, 128, 128, 256, 256,
    256 channels, about 3.1M parameters).

    Args:
        graph_cfg (dict): ``layout`` (``'coco'``, ``'h36m'``,
            ``'nturgb+d'``), ``strategy`` (``'uniform'``, ``'distance'``,
            ``'spatial'``) and ``max_hop`` of the graph. Defaults to
            ``dict(layout='coco', strategy='spatial', max_hop=1)``.
        in_channels (int): Channels per joint C (e.g. 3: x, y, score).
            Defaults to 3.
        base_channels (int): Channels of the first stage. Defaults to 64.
        num_stages (int): Number of units. Defaults to 10.
        inflate_stages (Sequence[int]): 1-based stages doubling the
            channels. Defaults to (5, 8).
        down_stages (Sequence[int]): 1-based stages with temporal stride 2.
            Defaults to (5, 8).
        data_bn (bool): Normalise the input with BatchNorm1d(V * C).
            Defaults to True.
        edge_importance (bool): Learnable (K, V, V) adjacency mask per unit
            (ST-GCN's edge importance weighting), initialised to ones.
            Defaults to True.
        temporal_kernel (int): Odd temporal kernel size. Defaults to 9.
        dropout (float): Dropout rate in the units. Defaults to 0.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None (PyTorch's default initialisation).

    Note:
        - N: number of clips
        - M: number of persons per clip
        - T: number of frames
        - V: number of joints
        - C: channels per joint
    """

    def __init__(self,
                 graph_cfg: dict = dict(
                     layout='coco', strategy='spatial', max_hop=1),
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8),
                 down_stages: Sequence[int] = (5, 8),
                 data_bn: bool = True,
                 edge_importance: bool = True,
                 temporal_kernel: int = 9,
                 dropout: float = 0.0,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        graph_cfg = dict(graph_cfg)
        layout = graph_cfg.pop('layout', 'coco')
        strategy = graph_cfg.pop('strategy', 'spatial')
        max_hop = int(graph_cfg.pop('max_hop', 1))
        if graph_cfg:
            raise ValueError(f'unknown graph_cfg keys {sorted(graph_cfg)} '
                             "(expected 'layout', 'strategy', 'max_hop')")
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        for name, stages in (('inflate_stages', inflate_stages),
                             ('down_stages', down_stages)):
            bad = [s for s in stages if not 1 <= s <= num_stages]
            if bad:
                raise ValueError(f'{name} must be in [1, {num_stages}], '
                                 f'got {tuple(stages)}')
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError('temporal_kernel must be odd, got '
                             f'{temporal_kernel}')
        self.layout = skeleton_layout(layout)
        self.graph_cfg = dict(layout=layout, strategy=strategy,
                              max_hop=max_hop)
        adj = torch.from_numpy(adjacency(self.layout, strategy, max_hop))
        self.register_buffer('A', adj)
        self.num_nodes = self.layout.num_nodes
        self.in_channels = in_channels
        num_subsets = adj.shape[0]

        self.data_bn = nn.BatchNorm1d(in_channels * self.num_nodes) \
            if data_bn else nn.Identity()
        self.units = nn.ModuleList()
        channels, prev = base_channels, in_channels
        for stage in range(1, num_stages + 1):
            if stage in inflate_stages:
                channels *= 2
            self.units.append(
                STGCNUnit(prev, channels, num_subsets, self.num_nodes,
                          stride=2 if stage in down_stages else 1,
                          temporal_kernel=temporal_kernel,
                          residual=stage > 1,
                          edge_importance=edge_importance,
                          dropout=dropout))
            prev = channels
        self.out_channels = channels
        self.temporal_stride = 2**len(set(down_stages))

    def forward(self, x: Tensor) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Skeleton sequences, shape (N, M, T, V, C).

        Returns:
            Tensor: Features, shape (N, M, out_channels, T', V), ``T' =
            ceil(T / 2)`` after each down stage.
        """
        if x.dim() != 5 or x.shape[3] != self.num_nodes \
                or x.shape[4] != self.in_channels:
            raise ValueError(
                f'STGCN expects (N, M, T, {self.num_nodes}, '
                f'{self.in_channels}) inputs, got {tuple(x.shape)}')
        clips, persons, frames, nodes, channels = x.shape
        # (N*M, V*C, T) for the data BN
        feat = x.permute(0, 1, 3, 4, 2).reshape(clips * persons,
                                                 nodes * channels, frames)
        feat = self.data_bn(feat)
        # (N*M, C, T, V)
        feat = feat.view(clips * persons, nodes, channels, frames) \
            .permute(0, 2, 3, 1).contiguous()
        adj = self.A.to(feat.dtype)
        for unit in self.units:
            feat = unit(feat, adj)
        return feat.reshape((clips, persons) + feat.shape[1:])
