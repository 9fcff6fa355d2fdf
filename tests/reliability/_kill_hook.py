"""A hook that SIGKILLs its own training process at a chosen point, for the
interrupted-training tests (imported through ``custom_imports``).

``PROBPOSE_TEST_KILL`` selects the point; unset, the hook does nothing:

* ``train:E:I``: after training iteration I (1-based) of epoch E;
* ``save:E``: while the checkpoint of epoch E is being saved (after
  MMEngine's ``CheckpointHook`` has deleted the checkpoints it no longer
  keeps, before the new file is written).
"""
import os
import signal

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

ENV_VAR = 'PROBPOSE_TEST_KILL'


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillAtHook(Hook):
    """SIGKILL the process where ``PROBPOSE_TEST_KILL`` says."""

    def __init__(self) -> None:
        spec = os.environ.get(ENV_VAR, '')
        self.where, *numbers = spec.split(':') if spec else ('', )
        self.at = tuple(int(n) for n in numbers)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.where == 'train' and self.at == (runner.epoch + 1,
                                                 batch_idx + 1):
            _kill()

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        if self.where == 'save' and self.at == (checkpoint['meta']['epoch'],):
            _kill()
