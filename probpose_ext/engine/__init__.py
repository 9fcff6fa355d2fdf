from .hooks import (PlainCheckpointHook, RngStateHook, SafeCheckpointHook,
                    TqdmProgressHook, TrainOnlyHook)

__all__ = [
    'PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook',
    'TqdmProgressHook', 'TrainOnlyHook'
]
