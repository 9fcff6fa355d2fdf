"""Train only some modules of a model, with the rest frozen and in eval
mode.

Used to train new branches on a trained network, e.g. ProbPose's presence
and visibility branches (which take detached features, so training them
after the rest equals training them jointly on the final features), from a
``load_from`` checkpoint. MMEngine has no such switch: ``paramwise_cfg``
with ``lr_mult=0`` still computes every gradient and still updates the
BatchNorm statistics, and the train loop puts the whole model back into
train mode every epoch.
"""
from typing import Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from torch import nn

from ...utils.validation import strict_kwargs


def _under(name: str, prefixes: Tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def freeze_except(model: nn.Module, trainable: Sequence[str]) -> int:
    """Set ``requires_grad`` to False on every parameter of ``model`` that
    is not inside one of the ``trainable`` submodules.

    Args:
        model (nn.Module): The model.
        trainable (Sequence[str]): Dotted submodule names (as in
            ``model.named_modules()``, e.g. ``'head.presence_branch'``).

    Returns:
        int: The number of trainable parameter elements.

    Raises:
        ValueError: If a name is not a submodule of ``model`` or holds no
            parameters.
    """
    prefixes = tuple(trainable)
    modules = dict(model.named_modules())
    for prefix in prefixes:
        if prefix not in modules:
            raise ValueError(f'TrainOnlyHook: the model has no submodule '
                             f'{prefix!r}')
        if not any(True for _ in modules[prefix].parameters()):
            raise ValueError(f'TrainOnlyHook: submodule {prefix!r} has no '
                             'parameters')
    count = 0
    for name, param in model.named_parameters():
        keep = _under(name, prefixes)
        param.requires_grad_(keep)
        count += param.numel() if keep else 0
    return count


def eval_except(model: nn.Module, trainable: Sequence[str]) -> None:
    """Put every submodule outside the ``trainable`` ones into eval mode
    (BatchNorm statistics and dropout frozen), one module at a time so that
    the trainable submodules keep their mode."""
    prefixes = tuple(trainable)
    for name, module in model.named_modules():
        if not _under(name, prefixes):
            module.training = False


@HOOKS.register_module()
@strict_kwargs
class TrainOnlyHook(Hook):
    """Train only the ``trainable`` submodules; freeze the rest.

    Before training, every other parameter gets ``requires_grad=False`` (no
    gradient is computed for it, so the backward pass is as short as the
    trainable part allows); before every iteration, every other module is
    put into eval mode (the train loop calls ``model.train()`` after the
    epoch hooks).

    Args:
        trainable (Sequence[str]): Dotted submodule names of the model, e.g.
            ``('head.presence_branch', 'head.visibility_branch')``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, trainable: Sequence[str]) -> None:
        if isinstance(trainable, str) or not trainable:
            raise ValueError('TrainOnlyHook: trainable must be a non-empty '
                             f'list of submodule names, got {trainable!r}')
        self.trainable = tuple(trainable)

    @staticmethod
    def _model(runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        count = freeze_except(self._model(runner), self.trainable)
        runner.logger.info(f'TrainOnlyHook: training {count} parameters of '
                           f'{", ".join(self.trainable)}; the rest is frozen')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        eval_except(self._model(runner), self.trainable)
