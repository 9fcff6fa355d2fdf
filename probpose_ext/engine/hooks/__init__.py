from .plain_checkpoint_hook import PlainCheckpointHook, from_plain, to_plain
from .progress_bar_hook import TqdmProgressHook
from .rng_state_hook import RngStateHook, get_rng_state, set_rng_state
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook',
    'TqdmProgressHook', 'to_plain', 'from_plain', 'get_rng_state',
    'set_rng_state'
]
