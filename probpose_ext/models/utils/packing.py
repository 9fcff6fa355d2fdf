"""Packing of per-keypoint predictions into MMPose's ``InstanceData``."""
from typing import Dict, List

from mmengine.structures import InstanceData
from torch import Tensor


def pack_instances(keypoints: Tensor,
                   fields: Dict[str, Tensor]) -> List[InstanceData]:
    """One ``InstanceData`` per sample (one instance each, the top-down
    layout) from batched tensors.

    Args:
        keypoints (Tensor): Decoded keypoints (B, K, 2).
        fields (dict[str, Tensor]): Per-keypoint fields, each with a leading
            batch dimension B (e.g. (B, K) scores, (B, K, 4) boxes).

    Returns:
        list[InstanceData]: B items whose ``keypoints`` (1, K, 2) and fields
        (1, ...) are numpy arrays, each item with copies of its own (fields
        that shared one tensor stay independent).
    """
    arrays = {name: value.detach().cpu().numpy()
              for name, value in dict(keypoints=keypoints, **fields).items()}
    batch = keypoints.shape[0]
    for name, value in arrays.items():
        if value.shape[0] != batch:
            raise ValueError(f'field {name!r} has batch size '
                             f'{value.shape[0]}, keypoints {batch}')
    return [
        InstanceData(**{name: value[i:i + 1].copy()
                        for name, value in arrays.items()})
        for i in range(batch)
    ]
