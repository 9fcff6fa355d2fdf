from .hooks import PlainCheckpointHook

__all__ = ['PlainCheckpointHook']
