# Copyright (c) probpose_ext contributors. All rights reserved.
"""GraphMLP-style 2D-to-3D lifting backbone (Li et al. 2022, "GraphMLP: A
Graph MLP-Like Architecture for 3D Human Pose Estimation").

GraphMLP treats each joint as a token: an MLP-Mixer whose token-mixing and
channel-mixing MLPs are each paired with a graph convolution over the
skeleton, so that mixing across joints combines a global (all joints,
learned) and a local (skeleton neighbours, fixed graph) path.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from ...ops.temporal import skeleton_adjacency


def h36m_skeleton_links() -> List[Tuple[int, int]]:
    """MMPose's Human3.6M skeleton links (from its dataset metainfo)."""
    from ...datasets.generators.kinematics import load_h36m_metainfo
    return [tuple(link) for link in load_h36m_metainfo()['skeleton_links']]


class GraphConv(nn.Module):
    """Graph convolution over joints, ``A_hat (x W) + b``, with a fixed
    normalised adjacency ``A_hat`` (a buffer).

    Args:
        in_dims (int): Input features per joint.
        out_dims (int): Output features per joint.
        adjacency (Tensor): Normalised adjacency, shape (K, K).
    """

    def __init__(self, in_dims: int, out_dims: int,
                 adjacency: Tensor) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dims, out_dims)
        self.register_buffer('adjacency', adjacency.clone().float())

    def forward(self, x: Tensor) -> Tensor:
        """(B, K, in_dims) -> (B, K, out_dims)."""
        return torch.matmul(self.adjacency, self.linear(x))


class Mlp(nn.Sequential):
    """Linear - GELU - dropout - Linear - dropout on the last axis."""

    def __init__(self, in_dims: int, hidden_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__(
            nn.Linear(in_dims, hidden_dims), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden_dims, in_dims), nn.Dropout(dropout))


class GraphMLPBlock(BaseModule):
    """One GraphMLP layer: spatial graph MLP then channel graph MLP.

    ``x = x + TokenMLP(LN(x)) + GCN_s(LN(x))`` (the token MLP mixes the K
    joints, applied on the transposed (B, D, K) tensor), then
    ``x = x + ChannelMLP(LN(x)) + GCN_c(LN(x))`` (the channel MLP mixes the
    D features of each joint); both GCNs are :class:`GraphConv` over the
    skeleton (a linear channel projection, then neighbour averaging).

    Args:
        num_joints (int): Number of joints K.
        embed_dims (int): Features per joint D.
        token_hidden (int): Hidden width of the token MLP.
        mlp_ratio (float): Hidden width of the channel MLP over D.
        adjacency (Tensor): Normalised adjacency, shape (K, K).
        dropout (float): Dropout in the MLPs.
    """

    def __init__(self, num_joints: int, embed_dims: int, token_hidden: int,
                 mlp_ratio: float, adjacency: Tensor,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.norm_spatial = nn.LayerNorm(embed_dims)
        self.token_mlp = Mlp(num_joints, token_hidden, dropout)
        self.gcn_spatial = GraphConv(embed_dims, embed_dims, adjacency)
        self.norm_channel = nn.LayerNorm(embed_dims)
        self.channel_mlp = Mlp(embed_dims, int(round(embed_dims * mlp_ratio)),
                               dropout)
        self.gcn_channel = GraphConv(embed_dims, embed_dims, adjacency)

    def forward(self, x: Tensor) -> Tensor:
        """(B, K, D) -> (B, K, D)."""
        y = self.norm_spatial(x)
        x = x + self.token_mlp(y.transpose(1, 2)).transpose(1, 2) \
            + self.gcn_spatial(y)
        y = self.norm_channel(x)
        return x + self.channel_mlp(y) + self.gcn_channel(y)


@MODELS.register_module()
class GraphMLPLifter(BaseBackbone):
    """GraphMLP-style lifting backbone for MMPose's ``PoseLifter``.

    The (B, K*C, T) input of the ``VideoPoseLifting`` codec (with
    ``reshape_keypoints=True``, channel ``k C + c``) is read as one token per
    joint with its T frames folded into the features (B, K, C*T), embedded
    linearly to ``embed_dims``, passed through ``num_blocks``
    :class:`GraphMLPBlock` s and a final LayerNorm, projected to
    ``out_dims`` per joint and flattened to (B, K*out_dims, 1) (channel
    ``k out_dims + d``), the centre-frame feature that
    ``TemporalRegressionHead(in_channels=K*out_dims)`` expects.

    Args:
        num_joints (int): Number of joints K. Defaults to 17.
        in_channels (int): Features per joint and frame C: 2 for (x, y), 3
            with the codec's ``concat_vis=True``. Defaults to 2.
        seq_len (int): Number of frames T folded into the token features.
            Defaults to 1.
        embed_dims (int): Token features D. Defaults to 128.
        num_blocks (int): Number of GraphMLP blocks. Defaults to 3.
        mlp_ratio (float): Channel-MLP hidden width over D. Defaults to 4.
        token_hidden (int): Token-MLP hidden width. Defaults to 256.
        dropout (float): Dropout in the MLPs. Defaults to 0.
        out_dims (int, optional): Output features per joint; a linear
            projection is added when it differs from ``embed_dims``.
            Defaults to ``embed_dims``.
        skeleton_links (Sequence[Sequence[int]], optional): Undirected joint
            pairs of the graph. Defaults to MMPose's Human3.6M skeleton
            (from its metainfo).
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to truncated normal (std 0.02) Linear weights with zero
            bias and unit LayerNorms.

    Note:
        - B: batch size
        - K: number of joints
        - C: features per joint and frame (``in_channels``)
        - T: number of frames (``seq_len``)

        Sizes: with the defaults (D=128, 3 blocks, token_hidden 256) the
        backbone has 523,315 parameters for 1 frame and 529,971 for 27
        frames (only the embedding grows with T), against 8,503,296 for
        MMPose's
        ``TCN(in_channels=34, stem_channels=1024, kernel_sizes=(3, 3, 3))``
        (27 frames); see ``tests/models/test_graph_mlp.py``. The GCNs use
        the plain normalised adjacency with self loops
        ``D^-1/2 (A + I) D^-1/2`` (:func:`probpose_ext.ops.temporal.
        skeleton_adjacency`) shared by all joints' neighbours, not
        GraphMLP's exact GCN variant.
    """

    def __init__(self,
                 num_joints: int = 17,
                 in_channels: int = 2,
                 seq_len: int = 1,
                 embed_dims: int = 128,
                 num_blocks: int = 3,
                 mlp_ratio: float = 4.0,
                 token_hidden: int = 256,
                 dropout: float = 0.0,
                 out_dims: Optional[int] = None,
                 skeleton_links: Optional[Sequence[Sequence[int]]] = None,
                 init_cfg: OptConfigType = [
                     dict(type='TruncNormal', std=0.02, layer='Linear',
                          bias=0.0),
                     dict(type='Constant', val=1.0, bias=0.0,
                          layer='LayerNorm')
                 ]) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        for name, value in (('num_joints', num_joints),
                            ('in_channels', in_channels),
                            ('seq_len', seq_len), ('embed_dims', embed_dims),
                            ('token_hidden', token_hidden)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f'num_blocks must be an int >= 0, got '
                             f'{num_blocks!r}')
        if skeleton_links is None:
            skeleton_links = h36m_skeleton_links()
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.seq_len = seq_len
        self.embed_dims = embed_dims
        self.out_dims = embed_dims if out_dims is None else int(out_dims)
        self.skeleton_links = [tuple(int(v) for v in link)
                               for link in skeleton_links]
        adjacency = skeleton_adjacency(num_joints, self.skeleton_links)

        self.embed = nn.Linear(in_channels * seq_len, embed_dims)
        self.blocks = nn.ModuleList([
            GraphMLPBlock(num_joints, embed_dims, token_hidden, mlp_ratio,
                          adjacency, dropout) for _ in range(num_blocks)
        ])
        self.norm = nn.LayerNorm(embed_dims)
        self.proj = nn.Identity() if self.out_dims == embed_dims \
            else nn.Linear(embed_dims, self.out_dims)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Forward function.

        Args:
            x (Tensor): Codec input, shape (B, K*C, T).

        Returns:
            tuple[Tensor]: One feature of shape (B, K*out_dims, 1).
        """
        batch, channels, frames = x.shape
        if channels != self.num_joints * self.in_channels \
                or frames != self.seq_len:
            raise ValueError(
                f'GraphMLPLifter expects input (B, {self.num_joints} x '
                f'{self.in_channels}, {self.seq_len}), got {tuple(x.shape)}')
        tokens = x.reshape(batch, self.num_joints,
                           self.in_channels * self.seq_len)
        feat = self.embed(tokens)
        for block in self.blocks:
            feat = block(feat)
        feat = self.proj(self.norm(feat))
        return (feat.reshape(batch, self.num_joints * self.out_dims, 1), )
