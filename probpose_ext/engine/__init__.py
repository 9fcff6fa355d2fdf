from .hooks import PlainCheckpointHook, RngStateHook, SafeCheckpointHook

__all__ = ['PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook']
