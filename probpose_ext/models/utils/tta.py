"""Test-time flip averaging of probability maps and per-keypoint branch
probabilities (shared by the ProbPose heads)."""
from typing import List, Sequence, Tuple

import torch
from mmpose.models.utils.tta import flip_heatmaps
from torch import Tensor


def flip_back_maps(maps: Tensor, flip_indices: Sequence[int],
                   groups: int = 1) -> Tensor:
    """Map the maps predicted on a horizontally flipped input back to the
    original input: flip the x axis and swap left/right keypoints.

    The channels hold ``groups`` consecutive blocks of K maps (e.g. the
    expert and the wide maps of ProbPose-DH); the swap acts within each
    block. No half-pixel shift: the ProbPose codecs use UDP's pixel grid,
    on which a flip is exact.

    Args:
        maps (Tensor): Maps of the flipped input (B, G*K, H, W).
        flip_indices (Sequence[int]): Index of each keypoint's mirror
            keypoint (K entries).
        groups (int): Number of map blocks G. Defaults to 1.

    Returns:
        Tensor: The maps in the original input's frame (B, G*K, H, W).
    """
    if groups < 1 or maps.dim() != 4 or \
            maps.shape[1] != groups * len(flip_indices):
        raise ValueError(
            f'maps must have shape (B, {groups} x {len(flip_indices)}, H, W) '
            f'for {groups} group(s) of {len(flip_indices)} keypoints, got '
            f'{tuple(maps.shape)}')
    return torch.cat([
        flip_heatmaps(block, flip_indices=list(flip_indices),
                      flip_mode='heatmap', shift_heatmap=False)
        for block in maps.chunk(groups, dim=1)
    ], dim=1)


def flip_test_average(maps: Tensor, maps_flipped: Tensor,
                      logits: Sequence[Tensor],
                      logits_flipped: Sequence[Tensor],
                      flip_indices: Sequence[int],
                      groups: int = 1) -> Tuple[Tensor, List[Tensor]]:
    """Flip test: average the probability maps and the per-keypoint branch
    probabilities of an input and of its horizontal flip.

    Maps are averaged as probabilities (a mixture of two distributions, so
    each map still sums to 1); branch logits are turned into probabilities
    (sigmoid, in float32) before averaging.

    Args:
        maps (Tensor): Probability maps of the input (B, G*K, H, W).
        maps_flipped (Tensor): Those of the flipped input (B, G*K, H, W).
        logits (Sequence[Tensor]): Branch logits of the input, (B, K) each.
        logits_flipped (Sequence[Tensor]): Those of the flipped input.
        flip_indices (Sequence[int]): Index of each keypoint's mirror
            keypoint (K entries).
        groups (int): Number of map blocks G (see :func:`flip_back_maps`).
            Defaults to 1.

    Returns:
        tuple[Tensor, list[Tensor]]: The averaged maps (B, G*K, H, W) and
        the averaged branch probabilities, (B, K) each, in the order of
        ``logits``.
    """
    if len(logits) != len(logits_flipped):
        raise ValueError(f'{len(logits)} branch logits but '
                         f'{len(logits_flipped)} for the flipped input')
    index = list(flip_indices)
    prob = 0.5 * (maps + flip_back_maps(maps_flipped, index, groups))
    probs = [
        0.5 * (torch.sigmoid(a.float()) + torch.sigmoid(b[:, index].float()))
        for a, b in zip(logits, logits_flipped)
    ]
    return prob, probs
