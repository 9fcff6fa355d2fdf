"""TqdmProgressHook: built through MMPose's registry, counts iterations from
``runner.iter`` to ``runner.max_iters`` and shows the loss."""
import io
from types import SimpleNamespace

import pytest
import torch
from mmpose.registry import HOOKS

from probpose_ext.engine import TqdmProgressHook


def _run(hook, runner, losses):
    hook.before_train(runner)
    for i, loss in enumerate(losses):
        hook.after_train_iter(runner, i, outputs=loss)
    text = hook.file.getvalue()
    hook.after_train(runner)
    return text, hook.file.getvalue()


def test_built_from_config_counts_iterations_and_shows_the_loss():
    stream = io.StringIO()
    hook = HOOKS.build(dict(type='TqdmProgressHook', desc='fine-tune',
                            file=stream, mininterval=0))
    assert isinstance(hook, TqdmProgressHook)
    assert hook.priority == 'VERY_LOW'
    runner = SimpleNamespace(max_iters=5, iter=2)  # resumed after 2
    outputs = [dict(loss=torch.tensor(0.75)), dict(loss=0.5),
               dict(loss=torch.tensor(0.125))]
    during, final = _run(hook, runner, outputs)
    assert 'fine-tune' in during
    assert '5/5' in final and '6/5' not in final
    assert 'loss=0.125' in final.splitlines()[-1].split('\r')[-1]
    assert hook.bar is None  # closed


def test_missing_or_non_finite_loss_is_not_shown():
    hook = TqdmProgressHook(file=io.StringIO(), mininterval=0)
    runner = SimpleNamespace(max_iters=2, iter=0)
    _, final = _run(hook, runner, [dict(loss=float('nan')), None])
    assert '2/2' in final
    assert 'loss' not in final


def test_rejects_unknown_arguments():
    with pytest.raises(TypeError, match='nterval'):
        HOOKS.build(dict(type='TqdmProgressHook', interval=3))
    with pytest.raises(ValueError, match='mininterval'):
        TqdmProgressHook(mininterval=-1)
