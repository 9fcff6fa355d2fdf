"""MMEngine's ``CheckpointHook`` that never deletes the last good
checkpoint before the new one is written.

With ``max_keep_ckpts`` set, MMEngine 0.10.7's ``CheckpointHook`` removes
the oldest checkpoint *before* saving the new one: a run killed while the
new file is written (SIGKILL, out of memory, a full disk) is left with a
truncated new checkpoint, the previous one deleted and ``last_checkpoint``
pointing at it, so ``--resume`` has nothing to resume from. (Every
``max_keep_ckpts=1`` config loses all its completed epochs that way.)
"""
import inspect
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmpose.registry import HOOKS

from ...utils.validation import check_kwargs

#: ``CheckpointHook``'s named arguments. Its ``**kwargs`` go to
#: ``Runner.save_checkpoint``, which takes none besides those the hook
#: passes, so a misspelt argument would only fail at the first save.
CHECKPOINT_HOOK_ARGS = frozenset(
    name for name, p in inspect.signature(
        CheckpointHook.__init__).parameters.items()
    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) - {'self'}


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments and behaviour) that deletes the
    checkpoints beyond ``max_keep_ckpts`` only after the new checkpoint and
    ``last_checkpoint`` are written.

    A run killed at any point then keeps a complete checkpoint that
    ``last_checkpoint`` names (a kill between writing and deleting leaves
    one extra old file). This project's configs use it in place of
    ``CheckpointHook`` (``default_hooks.checkpoint``; ``tools/train.py``
    warns when a config keeps ``CheckpointHook``). Unlike
    ``CheckpointHook`` it refuses unknown arguments when built (MMEngine
    passes them to ``Runner.save_checkpoint``, which fails at the first
    save, after an epoch of training).

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='SafeCheckpointHook', interval=1, max_keep_ckpts=1))
    """

    def __init__(self, *args, **kwargs) -> None:
        check_kwargs(type(self), kwargs, CHECKPOINT_HOOK_ARGS)
        super().__init__(*args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        keep = self.max_keep_ckpts
        if keep <= 0:
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale = []
        if not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            ids = [*self.keep_ckpt_ids, step]
            stale = ids[:-keep]
            self.keep_ckpt_ids = deque(ids[-keep:], keep)
            # saved with the checkpoint: what exists once it is written
            runner.message_hub.update_info('keep_ckpt_ids', ids[-keep:])
        self.max_keep_ckpts = -1  # the base class saves, deletes nothing
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if is_main_process():
            for old in stale:
                path = self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(old))
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):  # e.g. DeepSpeed
                    self.file_backend.rmtree(path)
