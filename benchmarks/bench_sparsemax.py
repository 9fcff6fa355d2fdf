"""Sparsemax forward + backward: ours against the implementations the
authors and users would otherwise use.

``ours`` is :func:`probpose_ext.ops.sparsemax`; the baselines are the
``sparsemax`` PyPI package 0.1.9 (``sparsemax.Sparsemax``, the authors'
choice, a sort-based implementation) and ``entmax.sparsemax``. The input is
what ProbPose normalises in a training step at the paper's resolution: one
row of ``64 * 48 = 3072`` logits (already divided by the temperature) per
keypoint, for a batch of 64 images with 17 keypoints. Before timing, each
baseline's output and input gradient are checked against ours.

Note on the PyPI package's API: ``Sparsemax(dim)`` is a module; for 2-D
inputs it ignores ``dim`` and always normalises the last dimension (it only
transposes inputs of 3 or more dimensions), so the benchmark uses 2-D rows
and ``dim=-1`` everywhere.
"""
from typing import Callable, List, Tuple

import torch
from torch import Tensor

from _harness import Case, Target

#: 64 images x 17 keypoints, 64 x 48 maps (ProbPose-s on COCO).
ROWS, LENGTH = 64 * 17, 64 * 48
#: 4 images in the quick smoke run.
QUICK_ROWS = 4 * 17
#: The authors' sparsemax temperature: logits are divided by it.
TEMPERATURE = 0.5

SparsemaxFn = Callable[[Tensor], Tensor]


def _implementations() -> List[Tuple[str, SparsemaxFn]]:
    """``(case name, fn)`` with ours first; each fn normalises the last dim.
    """
    import entmax
    from sparsemax import Sparsemax

    from probpose_ext.ops import sparsemax

    pypi = Sparsemax(dim=-1)
    return [
        ('ours', lambda z: sparsemax(z, dim=-1)),
        ('sparsemax (PyPI)', pypi),
        ('entmax', lambda z: entmax.sparsemax(z, dim=-1)),
    ]


def make_logits(rows: int, length: int, seed: int = 0) -> Tensor:
    """Standard normal logits divided by the temperature 0.5 (float32,
    shape (rows, length)): sparse rows, about 3 of 3072 in the support."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(rows, length, generator=gen) / TEMPERATURE


def forward_backward(fn: SparsemaxFn, logits: Tensor,
                     grad_output: Tensor) -> Tuple[Tensor, Tensor]:
    """Output of ``fn`` and the gradient of ``<fn(logits), grad_output>``
    with respect to the logits."""
    leaf = logits.detach().requires_grad_(True)
    probs = fn(leaf)
    probs.backward(grad_output)
    return probs.detach(), leaf.grad


def check_agreement(implementations: List[Tuple[str, SparsemaxFn]],
                    logits: Tensor, grad_output: Tensor) -> None:
    """Assert that every baseline gives ours' outputs and gradients (float32
    tolerance).

    Raises:
        AssertionError: Naming the implementation that disagrees.
    """
    (_, ours), *baselines = implementations
    probs, grad = forward_backward(ours, logits, grad_output)
    torch.testing.assert_close(
        probs.sum(-1), torch.ones(probs.size(0)), atol=1e-4, rtol=0)
    for name, fn in baselines:
        other_probs, other_grad = forward_backward(fn, logits, grad_output)
        torch.testing.assert_close(
            probs, other_probs, atol=1e-5, rtol=1e-4,
            msg=lambda m, name=name: f'{name} output: {m}')
        torch.testing.assert_close(
            grad, other_grad, atol=1e-5, rtol=1e-4,
            msg=lambda m, name=name: f'{name} gradient: {m}')


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """Cases ``ours``, ``sparsemax (PyPI)`` and ``entmax`` of the group
    ``sparsemax fwd+bwd (ROWS, 3072)``, and the target ours <= 1/3 x PyPI.
    """
    rows = QUICK_ROWS if quick else ROWS
    logits = make_logits(rows, LENGTH)
    grad_output = torch.randn(
        rows, LENGTH, generator=torch.Generator().manual_seed(1))
    implementations = _implementations()
    check_agreement(implementations, logits, grad_output)

    group = f'sparsemax fwd+bwd ({rows}, {LENGTH})'
    repeats = 3 if quick else 15
    cases = [
        Case(group, name,
             lambda fn=fn: forward_backward(fn, logits, grad_output),
             repeats=repeats, warmup=1)
        for name, fn in implementations
    ]
    cases[0].note = ('logits N(0, 1) / temperature 0.5; outputs and '
                     'gradients of both baselines checked equal first')
    targets = [
        Target(group, 'ours', 'sparsemax (PyPI)', 1 / 3,
               text='sparsemax fwd+bwd >= 3x faster than the PyPI package')
    ]
    return cases, targets
