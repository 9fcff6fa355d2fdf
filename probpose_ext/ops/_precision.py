"""Full precision for the ops that mixed precision would break.

Under ``torch.autocast`` (MMEngine's ``AmpOptimWrapper``, ``--amp``) matrix
products and convolutions run in float16 / bfloat16. Sparsemax thresholds,
sums of a map's pixels, the OKS-risk loss and the expected-OKS decoder need
more than bfloat16's 8 mantissa bits (a 64x48 map's probabilities sum to 1
only to about 1e-2, and a decoded coordinate near x = 40 moves in steps of
0.25 px). Like ``torch.softmax`` under autocast, these ops run and return
float32 for reduced-precision inputs.
"""
import functools
from typing import Callable, TypeVar

import torch
from torch import Tensor

#: Floating dtypes that these ops compute in float32.
REDUCED = (torch.float16, torch.bfloat16)

F = TypeVar('F', bound=Callable)


def upcast(x: Tensor) -> Tensor:
    """``x`` as float32 if it is float16 or bfloat16, else unchanged."""
    return x.float() if x.dtype in REDUCED else x


def autocast_active(x: Tensor) -> bool:
    """Whether ``torch.autocast`` is enabled for the device of ``x``."""
    return torch.is_autocast_enabled(x.device.type)


def full_precision(fn: F) -> F:
    """Run ``fn`` with autocast disabled on the device of its first tensor
    argument, so that its matrix products keep the dtype of their (upcast)
    inputs. ``fn`` itself upcasts reduced-precision inputs with
    :func:`upcast`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        first = next((a for a in (*args, *kwargs.values())
                      if isinstance(a, Tensor)), None)
        if first is None or not autocast_active(first):
            return fn(*args, **kwargs)
        with torch.autocast(first.device.type, enabled=False):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
