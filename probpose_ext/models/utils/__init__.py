"""Helpers shared by the heads (test-time flip averaging, packing of the
predictions); no registered classes."""
from .checks import check_decoder_type
from .labels import gather_labels
from .packing import pack_instances
from .tta import flip_back_maps, flip_test_average

__all__ = ['check_decoder_type', 'gather_labels', 'flip_back_maps', 'flip_test_average', 'pack_instances']
