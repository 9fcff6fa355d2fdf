from .hooks import (PlainCheckpointHook, RngStateHook, SafeCheckpointHook,
                    TqdmProgressHook)

__all__ = [
    'PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook',
    'TqdmProgressHook'
]
