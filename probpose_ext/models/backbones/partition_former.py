"""A compact skeleton transformer with partition attention (in the spirit
of SkateFormer, Do and Kim 2024)."""
import copy
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from ...ops.skeleton_partitions import (PARTITION_TYPES, joint_parts,
                                        partition_masks)

__all__ = ['PartitionAttention', 'SkeletonPartitionFormer']


class PartitionAttention(nn.Module):
    """Multi-head self-attention whose heads are split evenly over the
    partition types: a head of type k attends only within the token's
    partition of type k (:func:`~probpose_ext.ops.partition_masks`).

    Args:
        dims (int): Token channels D.
        num_heads (int): Heads, a multiple of the number of types.
        dropout (float): Attention dropout.
    """

    def __init__(self, dims: int, num_heads: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_heads % len(PARTITION_TYPES) or dims % num_heads:
            raise ValueError(f'num_heads ({num_heads}) must be a multiple of '
                             f'{len(PARTITION_TYPES)} and divide dims '
                             f'({dims})')
        self.num_heads, self.dims = num_heads, dims
        self.qkv = nn.Linear(dims, 3 * dims)
        self.proj = nn.Linear(dims, dims)
        self.dropout = dropout

    def forward(self, x: Tensor, masks: Tensor) -> Tensor:
        """(B, N, D) tokens, (K, N, N) bool masks -> (B, N, D)."""
        batch, tokens, _ = x.shape
        head_dims = self.dims // self.num_heads
        qkv = self.qkv(x).view(batch, tokens, 3, self.num_heads, head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # (B, H, N, d) each
        per_type = self.num_heads // masks.shape[0]
        mask = masks.repeat_interleave(per_type, dim=0)  # (H, N, N)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask[None],
            dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens,
                                                     self.dims))


class _Block(nn.Module):
    """Pre-norm transformer block: partition attention and an MLP."""

    def __init__(self, dims: int, num_heads: int, mlp_ratio: float,
                 dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.attn = PartitionAttention(dims, num_heads, dropout)
        self.norm2 = nn.LayerNorm(dims)
        hidden = int(dims * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dims, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, dims))

    def forward(self, x: Tensor, masks: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), masks)
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class SkeletonPartitionFormer(BaseModule):
    """Skeleton transformer with skeletal-temporal partition attention.

    A temporal patch embedding (a convolution over ``temporal_stride``
    frames per joint) turns (T, V) joints into (T / stride, V) tokens of
    ``embed_dims`` channels, plus a learned embedding per joint and a
    sinusoidal one per token frame; ``depth`` pre-norm blocks of
    :class:`PartitionAttention` (heads split over near/far joints x
    local/global frames, :mod:`~probpose_ext.ops.skeleton_partitions`)
    and MLPs follow. Same contract as :class:`STGCN`: (N, M, T, V, C) in,
    (N, M, embed_dims, T', V) out, persons independent.

    Args:
        layout (str): Skeleton layout (``'coco'``, ``'h36m'``,
            ``'nturgb+d'``).
        in_channels (int): Channels per joint C.
        embed_dims (int): Token channels. Defaults to 64.
        depth (int): Blocks. Defaults to 4.
        num_heads (int): Heads (a multiple of 4). Defaults to 4.
        temporal_stride (int): Frames per token. Defaults to 4.
        window (int): Tokens per local window. Defaults to 4.
        mlp_ratio (float): MLP hidden / embed channels. Defaults to 2.
        dropout (float): Dropout. Defaults to 0.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 layout: str,
                 in_channels: int,
                 embed_dims: int = 64,
                 depth: int = 4,
                 num_heads: int = 4,
                 temporal_stride: int = 4,
                 window: int = 4,
                 mlp_ratio: float = 2.0,
                 dropout: float = 0.0,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        part, _ = joint_parts(layout)
        if depth < 1 or temporal_stride < 1 or window < 1:
            raise ValueError('depth, temporal_stride and window must be >= '
                             '1')
        self.layout, self.window = layout, int(window)
        self.num_nodes, self.in_channels = len(part), in_channels
        self.out_channels = embed_dims
        self.temporal_stride = int(temporal_stride)
        self.embed = nn.Conv2d(in_channels, embed_dims,
                               (temporal_stride, 1),
                               stride=(temporal_stride, 1))
        self.joint_embed = nn.Parameter(torch.zeros(len(part), embed_dims))
        nn.init.trunc_normal_(self.joint_embed, std=0.02)
        self.blocks = nn.ModuleList(
            _Block(embed_dims, num_heads, mlp_ratio, dropout)
            for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dims)
        self._masks: Dict[Tuple[int, str], Tensor] = {}

    def _frame_embed(self, frames: int, like: Tensor) -> Tensor:
        dims = self.out_channels
        pos = torch.arange(frames, dtype=torch.float32)[:, None]
        freq = torch.exp(-math.log(10000.0) *
                         torch.arange(0, dims, 2, dtype=torch.float32) /
                         dims)
        emb = torch.zeros(frames, dims)
        emb[:, 0::2] = torch.sin(pos * freq)
        emb[:, 1::2] = torch.cos(pos * freq[:dims // 2])
        return emb.to(like)

    def masks(self, frames: int, device: torch.device) -> Tensor:
        """The (4, T' V, T' V) attention masks for ``frames`` tokens."""
        key = (frames, str(device))
        if key not in self._masks:
            self._masks[key] = torch.from_numpy(
                partition_masks(self.layout, frames, self.window)).to(device)
        return self._masks[key]

    def forward(self, x: Tensor) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): (N, M, T, V, C); T a multiple of
                ``temporal_stride`` (the rest is dropped).

        Returns:
            Tensor: (N, M, embed_dims, T // temporal_stride, V).
        """
        if x.dim() != 5 or x.shape[3] != self.num_nodes \
                or x.shape[4] != self.in_channels:
            raise ValueError(
                f'SkeletonPartitionFormer expects (N, M, T, '
                f'{self.num_nodes}, {self.in_channels}) inputs, got '
                f'{tuple(x.shape)}')
        clips, persons, frames, nodes, _ = x.shape
        if frames < self.temporal_stride:
            raise ValueError(f'need at least {self.temporal_stride} frames, '
                             f'got {frames}')
        feat = self.embed(x.flatten(0, 1).permute(0, 3, 1, 2))  # (B,D,T',V)
        steps = feat.shape[2]
        tokens = feat.permute(0, 2, 3, 1)  # (B, T', V, D)
        tokens = tokens + self.joint_embed + \
            self._frame_embed(steps, tokens)[:, None]
        tokens = tokens.flatten(1, 2)  # frame-major (B, T' V, D)
        masks = self.masks(steps, tokens.device)
        for block in self.blocks:
            tokens = block(tokens, masks)
        tokens = self.norm(tokens).view(-1, steps, nodes, self.out_channels)
        return tokens.permute(0, 3, 1, 2).reshape(
            clips, persons, self.out_channels, steps, nodes)

