"""TrainOnlyHook: built through MMPose's registry; in a simulated train
loop the frozen part keeps its weights and BatchNorm statistics, the
trainable part learns."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmpose.registry import HOOKS
from torch import nn

from probpose_ext.engine import TrainOnlyHook


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.head = nn.Module()
        self.head.maps = nn.Linear(4, 2)
        self.head.presence_branch = nn.Sequential(nn.BatchNorm1d(4),
                                                  nn.Linear(4, 1))

    def forward(self, x):
        f = self.backbone(x)
        return (self.head.maps(f)**2).sum() + \
            (self.head.presence_branch(f)**2).sum()


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_only_the_trainable_part_changes_in_a_train_loop():
    torch.manual_seed(0)
    model = _Net()
    hook = HOOKS.build(dict(type='TrainOnlyHook',
                            trainable=['head.presence_branch']))
    assert isinstance(hook, TrainOnlyHook)
    runner = SimpleNamespace(model=model, logger=logging.getLogger('t'))
    before = _snapshot(model)
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    hook.before_train(runner)
    for i in range(3):
        model.train()  # what MMEngine's loop does after the epoch hooks
        hook.before_train_iter(runner, i)
        assert not model.backbone[1].training
        assert model.head.presence_branch[0].training
        optim.zero_grad()
        model(torch.randn(8, 3) * 3 + 1).backward()
        optim.step()
    after = _snapshot(model)
    for key in before:
        same = torch.equal(before[key], after[key])
        if key.startswith('head.presence_branch.') and not key.endswith(
                'num_batches_tracked'):
            assert not same, key
        elif not key.startswith('head.presence_branch.'):
            assert same, key  # weights and BN statistics frozen
    assert all(p.grad is None for p in model.backbone.parameters())
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        n for n, _ in model.named_parameters()
        if n.startswith('head.presence_branch.')]


def test_bad_names_are_clear_errors():
    runner = SimpleNamespace(model=_Net(), logger=logging.getLogger('t'))
    with pytest.raises(ValueError, match='no submodule'):
        TrainOnlyHook(['head.presence']).before_train(runner)
    with pytest.raises(ValueError, match='non-empty'):
        TrainOnlyHook('head.presence_branch')
    with pytest.raises(ValueError, match='non-empty'):
        TrainOnlyHook([])
    with pytest.raises(TypeError, match='trainable'):
        HOOKS.build(dict(type='TrainOnlyHook', trainables=['backbone']))
