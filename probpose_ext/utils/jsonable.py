"""Strict-JSON conversion of the arrays and numbers our tools report."""
import math
from typing import Any, Mapping

import numpy as np
import torch


def to_jsonable(value: Any) -> Any:
    """Plain-JSON version of ``value``: tensors and arrays to lists, numpy
    scalars to Python numbers, non-finite floats to None, recursively
    through dicts, lists and tuples.

    Args:
        value (Any): Value to convert.

    Returns:
        Any: A value ``json.dumps(..., allow_nan=False)`` accepts (given
        JSON-compatible leaves).
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
