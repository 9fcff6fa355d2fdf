"""Shared by the recogniser tests: data samples with labels, and a few
optimiser steps of a recogniser on a toy batch."""
from typing import List, Sequence

import torch
from mmengine.structures import BaseDataElement


def label_samples(labels: Sequence[int]) -> List[BaseDataElement]:
    """Data samples carrying ``gt_label``."""
    out = []
    for y in labels:
        sample = BaseDataElement()
        sample.gt_label = torch.tensor([int(y)])
        out.append(sample)
    return out


def fit_predict(model, x: torch.Tensor, labels: Sequence[int], steps: int,
                lr: float, test: torch.Tensor = None) -> List[int]:
    """Train ``model`` for ``steps`` Adam steps on (x, labels), then return
    its predicted labels on ``test`` (default: x) in eval mode."""
    samples = label_samples(labels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(x, samples, mode='loss')['loss_cls']
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        preds = model(x if test is None else test, mode='predict')
    return [p.pred_label.item() for p in preds]
