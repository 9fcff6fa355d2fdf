"""Array helpers shared by the ops that take NumPy arrays or torch tensors
(:mod:`.crop_transform` and :mod:`.covariance`): argument coercion and
results in the caller's array type, dtype and device."""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

Array = Union[np.ndarray, Tensor]
ArrayLike = Union[np.ndarray, Tensor, Sequence[float],
                  Sequence[Sequence[float]]]


def as_pairs(value: ArrayLike, name: str) -> np.ndarray:
    """``value`` as a float64 (N, 2) array (a single pair gives N = 1)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(f'{name} must have shape (2,) or (N, 2), got '
                         f'{arr.shape}')
    return arr.reshape(-1, 2)


def as_floating(x: ArrayLike) -> Array:
    """``x`` as a floating array/tensor (integers become float64)."""
    if isinstance(x, Tensor):
        return x if x.is_floating_point() else x.to(torch.float64)
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def like(value: ArrayLike, x: Array) -> Array:
    """``value`` as the array type, floating dtype and device of ``x``."""
    if isinstance(x, Tensor):
        return torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value).astype(x.dtype, copy=False)


def check_per_instance(n: int, **arrays: Optional[np.ndarray]) -> None:
    """Raise unless each given (M, 2) array has M = 1 or M = ``n``."""
    for name, arr in arrays.items():
        if arr is not None and arr.shape[0] not in (1, n):
            raise ValueError(f'{name} must have shape (1, 2) or ({n}, 2) for '
                             f'{n} instances, got {arr.shape}')
