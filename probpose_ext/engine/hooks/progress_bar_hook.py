"""A tqdm progress bar over training iterations.

MMEngine's ``LoggerHook`` prints a line every ``interval`` iterations; for a
short run (the fine-tuning step of ``make demo``) a bar that moves with
every iteration, with its rate and the time left, says more at a glance.
"""
import math
import sys
from typing import IO, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.validation import strict_kwargs


@HOOKS.register_module()
@strict_kwargs
class TqdmProgressHook(Hook):
    """Show training progress as a tqdm bar of ``runner.max_iters`` steps.

    The bar starts at ``runner.iter`` (so a resumed run starts where it
    stopped), advances after every training iteration with the current
    value of ``outputs[loss_key]`` as its postfix, and is closed after
    training. Only the main process draws it.

    Args:
        desc (str): Text before the bar. Defaults to ``'train'``.
        loss_key (str): Entry of the iteration's outputs (the parsed
            losses) shown after the bar; nothing is shown when absent or
            not finite. Defaults to ``'loss'``.
        file (IO, optional): Stream the bar is written to. Defaults to
            ``sys.stderr`` (taken when training starts).
        mininterval (float): Minimum seconds between redraws. Defaults to
            0.5.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 desc: str = 'train',
                 loss_key: str = 'loss',
                 file: Optional[IO] = None,
                 mininterval: float = 0.5) -> None:
        if mininterval < 0:
            raise ValueError(f'mininterval must be >= 0, got {mininterval}')
        self.desc = desc
        self.loss_key = loss_key
        self.file = file
        self.mininterval = float(mininterval)
        self.bar = None

    def before_train(self, runner) -> None:
        """Open the bar at ``runner.iter`` of ``runner.max_iters``."""
        from tqdm import tqdm
        self.bar = tqdm(
            total=int(runner.max_iters),
            initial=int(runner.iter),
            desc=self.desc,
            unit='it',
            file=self.file if self.file is not None else sys.stderr,
            mininterval=self.mininterval,
            disable=not is_main_process())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Advance the bar by one iteration and show the loss."""
        if self.bar is None:
            return
        loss = (outputs or {}).get(self.loss_key)
        if loss is not None:
            value = float(loss.item() if hasattr(loss, 'item') else loss)
            if math.isfinite(value):
                self.bar.set_postfix({self.loss_key: f'{value:.4g}'},
                                     refresh=False)
        self.bar.update(1)

    def after_train(self, runner) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
