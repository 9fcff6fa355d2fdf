"""Pure maths on tensors (no registry imports): sparsemax, OKS kernels,
expected-OKS decoding and the OKS-risk loss."""
from .oks import (decode_expected_oks, expected_oks_map, oks,
                  oks_variance_authors, oks_variance_instance,
                  oks_variance_nominal)
from .oks_risk import oks_risk, oks_risk_loss, oks_target_map, sobel_energy
from .simplex import sparsemax

__all__ = [
    'sparsemax', 'oks', 'oks_variance_instance', 'oks_variance_nominal',
    'oks_variance_authors', 'expected_oks_map', 'decode_expected_oks',
    'oks_target_map', 'oks_risk', 'sobel_energy', 'oks_risk_loss'
]
