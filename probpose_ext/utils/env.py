"""Checks of the installed OpenMMLab stack."""
from importlib import metadata
from typing import Dict, Optional, Tuple

from ..version import SUPPORTED


def _version_tuple(version: str) -> Tuple[int, ...]:
    """Numeric prefix of a version string, e.g. '1.3.2rc1' -> (1, 3, 2)."""
    parts = []
    for piece in version.split('.'):
        digits = ''
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_stack_versions(
        supported: Optional[Dict[str, Tuple[str, str]]] = None) -> None:
    """Raise a clear ImportError if mmengine/mmpose are missing or outside
    the supported ranges.

    Args:
        supported (dict, optional): Package name -> (min inclusive, max
            exclusive). Defaults to :data:`probpose_ext.version.SUPPORTED`.
    """
    supported = SUPPORTED if supported is None else supported
    for name, (low, high) in supported.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise ImportError(
                f'probpose_ext needs {name}>={low},<{high}, which is not '
                'installed. Install the OpenMMLab stack first (see the README,'
                ' "Installing into an existing MMPose environment").') from None
        if not (_version_tuple(low) <= _version_tuple(installed) <
                _version_tuple(high)):
            raise ImportError(
                f'probpose_ext supports {name}>={low},<{high} but found '
                f'{name}=={installed}.')
