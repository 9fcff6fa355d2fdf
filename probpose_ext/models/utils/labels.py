"""Gathering of the codec's per-instance labels for a head's loss."""
from typing import Dict, Sequence

import torch
from mmpose.utils.typing import SampleList
from torch import Tensor


def gather_labels(batch_data_samples: SampleList, keys: Sequence[str],
                  owner: str, codec: str) -> Dict[str, Tensor]:
    """The ``gt_instance_labels`` fields ``keys`` of a batch, concatenated
    over its samples (top-down: one instance each, so (B, ...) tensors).

    Args:
        batch_data_samples (list[PoseDataSample]): The batch.
        keys (Sequence[str]): Label names to gather.
        owner (str): The head's name, for the error message.
        codec (str): The codec that writes these labels, for the message.

    Returns:
        dict[str, Tensor]: key -> the concatenated labels.

    Raises:
        KeyError: A sample lacks a label; the message names it and the
            ``GenerateTarget`` encoder that writes it.
    """
    labels = {}
    for key in keys:
        try:
            labels[key] = torch.cat(
                [d.gt_instance_labels[key] for d in batch_data_samples])
        except (AttributeError, KeyError):
            raise KeyError(
                f'{owner} needs gt_instance_labels.{key}: encode the targets '
                f"with GenerateTarget(encoder=dict(type='{codec}', ...)) in "
                'the training pipeline.') from None
    return labels
