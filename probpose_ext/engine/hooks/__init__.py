from .plain_checkpoint_hook import PlainCheckpointHook, from_plain, to_plain
from .progress_bar_hook import TqdmProgressHook
from .rng_state_hook import RngStateHook, get_rng_state, set_rng_state
from .safe_checkpoint_hook import SafeCheckpointHook
from .train_only_hook import TrainOnlyHook, eval_except, freeze_except

__all__ = [
    'PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook',
    'TqdmProgressHook', 'TrainOnlyHook', 'to_plain', 'from_plain', 'get_rng_state',
    'set_rng_state', 'freeze_except', 'eval_except'
]
