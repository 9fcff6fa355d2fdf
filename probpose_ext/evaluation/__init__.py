from .presence_metric import PresenceAccuracy

__all__ = ['PresenceAccuracy']
