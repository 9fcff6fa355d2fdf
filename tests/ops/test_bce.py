"""Weighted and class-balanced BCE (ops.bce) against written-out sums, and
the registered WeightedBCELoss built through MMPose's registry."""
import math

import pytest
import torch
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401  (registers the modules)
from probpose_ext.ops.bce import (balanced_bce_with_logits,
                                  weighted_bce_with_logits, weighted_mean)


def _bce(z: float, y: float) -> float:
    """-y log s(z) - (1 - y) log(1 - s(z)), from its definition."""
    s = 1.0 / (1.0 + math.exp(-z))
    return -(y * math.log(s) + (1 - y) * math.log(1 - s))


LOGITS = [[2.0, -1.0, 0.5, 0.0], [-0.3, 1.5, -2.0, 0.7]]
LABELS = [[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0]]
WEIGHTS = [[1.0, 1.0, 1.0, 0.0], [0.5, 1.0, 2.0, 0.0]]


def _entries():
    return [(z, y, w) for zr, yr, wr in zip(LOGITS, LABELS, WEIGHTS)
            for z, y, w in zip(zr, yr, wr)]


def test_weighted_mean_divides_by_the_weight_clamped_to_one():
    values = torch.tensor([2.0, 4.0, 8.0])
    assert weighted_mean(values, torch.tensor([1.0, 3.0, 0.0])).item() == \
        pytest.approx(14.0 / 4.0)
    # total weight below 1: the sum, not a blown-up mean
    assert weighted_mean(values, torch.tensor([0.25, 0.0, 0.0])).item() == \
        pytest.approx(0.5)


def test_weighted_bce_equals_the_written_out_sum():
    entries = _entries()
    expected = sum(w * _bce(z, y) for z, y, w in entries) / \
        sum(w for _, _, w in entries)
    loss = weighted_bce_with_logits(torch.tensor(LOGITS),
                                    torch.tensor(LABELS),
                                    torch.tensor(WEIGHTS))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_balanced_bce_gives_each_class_half():
    entries = _entries()
    halves = []
    for cls in (1.0, 0.0):
        chosen = [(z, y, w) for z, y, w in entries if y == cls]
        halves.append(sum(w * _bce(z, y) for z, y, w in chosen) /
                      max(sum(w for _, _, w in chosen), 1.0))
    loss = balanced_bce_with_logits(torch.tensor(LOGITS),
                                    torch.tensor(LABELS),
                                    torch.tensor(WEIGHTS))
    assert loss.item() == pytest.approx(0.5 * sum(halves), rel=1e-6)


def test_balanced_bce_with_one_class_is_its_mean_halved():
    logits = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    zeros = torch.zeros(1, 4)
    weights = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    expected = 0.5 * sum(_bce(z, 0.0) for z in (2.0, -1.0, 0.5)) / 3
    assert balanced_bce_with_logits(logits, zeros, weights).item() == \
        pytest.approx(expected, rel=1e-6)


def test_balanced_bce_without_any_weighted_entry_is_zero():
    # no weighted entry in either class: loss 0 and no gradient, with no
    # data-dependent branch (the classes' sums are never tested on the host)
    logits = torch.tensor([[2.0, -1.0, 0.5]], requires_grad=True)
    labels = torch.tensor([[1.0, 0.0, 1.0]])
    loss = balanced_bce_with_logits(logits, labels, torch.zeros(1, 3))
    assert loss.item() == 0.0
    loss.backward()
    assert (logits.grad == 0).all()


@pytest.mark.parametrize('balanced', [False, True])
def test_registered_loss_from_config(balanced):
    loss = MODELS.build(dict(type='WeightedBCELoss', class_balanced=balanced,
                             loss_weight=3.0))
    args = (torch.tensor(LOGITS), torch.tensor(LABELS),
            torch.tensor(WEIGHTS))
    fn = balanced_bce_with_logits if balanced else weighted_bce_with_logits
    assert loss(*args).item() == pytest.approx(3.0 * fn(*args).item())
    # half-precision logits (autocast) are computed in float32
    assert loss(args[0].half(), *args[1:]).dtype == torch.float32
