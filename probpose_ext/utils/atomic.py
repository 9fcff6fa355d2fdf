"""Alias of the atomic-output helpers, which moved to
:mod:`probpose_ext.datasets.generators.common` with the rest of what the
data generators share."""
from ..datasets.generators.common import (atomic_output_dir, atomic_write,
                                          check_output_dir, cleanup_stale,
                                          remove_path, worker_map)

__all__ = [
    'atomic_output_dir', 'atomic_write', 'check_output_dir',
    'cleanup_stale', 'remove_path', 'worker_map'
]
