"""Argument checks shared by the map-based ops."""
from torch import Tensor


def check_maps(maps: Tensor, name: str = 'prob',
               floating: bool = False) -> None:
    """Raise unless ``maps`` is a tensor of shape (N, K, H, W).

    Args:
        maps (Tensor): Per-instance, per-keypoint maps.
        name (str): Argument name used in the messages.
        floating (bool): Also require a floating dtype.

    Raises:
        TypeError: If ``maps`` is not a tensor.
        ValueError: If it is not 4-D (or not floating when required).
    """
    if not isinstance(maps, Tensor):
        raise TypeError(f'{name} must be a Tensor, got {type(maps)}')
    if maps.dim() != 4 or (floating and not maps.is_floating_point()):
        kind = 'a floating tensor' if floating else 'a tensor'
        raise ValueError(f'{name} must be {kind} of shape (N, K, H, W), got '
                         f'{maps.dtype} {tuple(maps.shape)}')


def check_level(p: float) -> float:
    """A credible level as a float, or a ValueError unless ``0 < p <= 1``.

    Args:
        p (float): Credible level.

    Returns:
        float: ``p``.
    """
    p = float(p)
    if not 0.0 < p <= 1.0:
        raise ValueError(f'credible level p must be in (0, 1], got {p}')
    return p
