"""What each head's exported graph outputs, and how ONNX Runtime's outputs
are turned back into what the head's ``forward`` returns.

The exported graph runs from the normalised input crop to the head's
outputs (:class:`~probpose_ext.deploy.export.ExportGraph`); at run time the
pose estimator keeps its PyTorch head for everything after ``forward``
(flip averaging, the codecs' decoding, credible regions, presence), and
only ``forward`` is replaced by the file's outputs
(:class:`~probpose_ext.deploy.runtime.OnnxPoseEstimator`). A
:class:`HeadSpec` holds both directions for one head family:

========================  =============  ====================================
head (and subclasses)     kind           graph outputs
========================  =============  ====================================
``ProbMapDHHead``         probmap_dh     expert_prob, wide_prob (B, K, H, W),
                                         presence, visibility, quality (B, K)
``ProbMapHead``           probmap        prob (B, K, H, W), presence,
                                         visibility, quality (B, K)
``TICHead``               tic            prob (B, K, H, W), means (B, 2K),
                                         cov (B, 2K, 2K), presence (B, K)
``HeatmapHead`` (MMPose)  heatmap        heatmaps (B, K, H, W)
========================  =============  ====================================

Maps are probabilities (sparsemax at the test temperature for ProbPose,
softmax for TIC), branches are probabilities (sigmoid of the logits); TIC's
means and covariances are in heatmap pixels.
"""
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

__all__ = ['HeadSpec', 'head_spec', 'HEAD_SPECS']


class HeadSpec(NamedTuple):
    """Export and run-time conversion of one head family.

    Attributes:
        kind (str): Short name written into the ONNX metadata.
        outputs (dict): Output name -> description (graph order).
        graph (Callable): ``(head, forward_out, temperature) -> tuple of
            tensors``, traced into the graph (``temperature``: ProbPose
            heads' test temperature where it differs from the training
            one, so the maps are renormalised; None otherwise).
        forward (Callable): ``(head, tuple of tensors) -> forward_out``, what
            the head's ``forward`` would have returned (fields the outputs do
            not carry are None).
    """
    kind: str
    outputs: Dict[str, str]
    graph: Callable
    forward: Callable


_BRANCH_DOCS = {
    'presence': 'presence probability (B, K): the keypoint lies in the '
    'input window',
    'visibility': 'visibility probability (B, K)',
    'quality': 'predicted OKS of the decoded keypoint (B, K)',
}


def _branch_probs(out) -> Tuple[Tensor, Tensor, Tensor]:
    return tuple(torch.sigmoid(x.float()) for x in (
        out.presence_logits, out.visibility_logits, out.quality_logits))


def _logit(p: Tensor) -> Tensor:
    """Logits of probabilities (the head's predict takes logits and applies
    the sigmoid; ``sigmoid(logit(p))`` is ``p`` to float rounding, 0 and 1
    give -inf and inf and come back exactly)."""
    return torch.logit(p.float())


def _test_prob(head, out, temperature: Optional[float]) -> Tensor:
    return out.prob if temperature is None else head.normalise(
        out.logits, temperature)


def _probmap_graph(head, out, temperature):
    return (_test_prob(head, out, temperature), ) + _branch_probs(out)


def _probmap_forward(head, outs: Sequence[Tensor]):
    from ..models.heads.probmap_head import ProbMapOutputs
    prob, presence, visibility, quality = outs
    return ProbMapOutputs(prob=prob, logits=None,
                          presence_logits=_logit(presence),
                          visibility_logits=_logit(visibility),
                          quality_logits=_logit(quality))


def _probmap_dh_graph(head, out, temperature):
    expert, wide = head.split_maps(_test_prob(head, out, temperature))
    return (expert, wide) + _branch_probs(out)


def _probmap_dh_forward(head, outs: Sequence[Tensor]):
    expert, wide, *branches = outs
    return _probmap_forward(head, [torch.cat([expert, wide], 1), *branches])


def _tic_graph(head, out, temperature):
    return (out.prob, out.means, out.cov,
            torch.sigmoid(out.presence_logits.float()))


def _tic_forward(head, outs: Sequence[Tensor]):
    from ..models.heads.tic_head import TICOutputs
    prob, means, cov, presence = outs
    return TICOutputs(prob=prob, means=means, cov=cov,
                      presence_logits=_logit(presence), z=None,
                      jacobian=None, eps1=None, log_prob=None)


def _heatmap_graph(head, out, temperature):
    return (out, )


def _heatmap_forward(head, outs: Sequence[Tensor]):
    return outs[0]


#: Head class name -> spec. :func:`head_spec` looks a head's classes up in
#: method resolution order, so subclasses (e.g. MMPose's ViPNAS head, a
#: HeatmapHead) take their base's spec.
HEAD_SPECS: Dict[str, HeadSpec] = {
    'ProbMapDHHead': HeadSpec(
        'probmap_dh',
        dict(expert_prob='expert probability maps (B, K, H, W), each sums '
             'to 1 (sparsemax at the test temperature)',
             wide_prob='wide probability maps (B, K, H, W) over the window '
             'widened by the codec\'s wide_factor',
             **_BRANCH_DOCS), _probmap_dh_graph, _probmap_dh_forward),
    'ProbMapHead': HeadSpec(
        'probmap',
        dict(prob='probability maps (B, K, H, W), each sums to 1 (sparsemax '
             'at the test temperature)', **_BRANCH_DOCS),
        _probmap_graph, _probmap_forward),
    'TICHead': HeadSpec(
        'tic',
        dict(prob='softmax maps (B, K, H, W)',
             means='keypoint means (B, 2K) in heatmap pixels, interleaved '
             'x0, y0, x1, y1, ...',
             cov='joint covariance (B, 2K, 2K) in heatmap pixels^2',
             presence=_BRANCH_DOCS['presence']), _tic_graph, _tic_forward),
    'HeatmapHead': HeadSpec(
        'heatmap', dict(heatmaps='heatmaps (B, K, H, W)'), _heatmap_graph,
        _heatmap_forward),
}


def head_spec(head: nn.Module) -> HeadSpec:
    """The :class:`HeadSpec` of ``head`` (its own class or the nearest base
    class listed in :data:`HEAD_SPECS`).

    Raises:
        TypeError: No spec for the head's classes.
    """
    for cls in type(head).__mro__:
        if cls.__name__ in HEAD_SPECS:
            return HEAD_SPECS[cls.__name__]
    raise TypeError(
        f'no ONNX export for head {type(head).__name__}: supported heads '
        f'are {", ".join(HEAD_SPECS)} and their subclasses')
