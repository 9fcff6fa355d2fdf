"""Evaluation functions without registry adapters."""
from .ex_cocoeval import KEYPOINT_STATS, ExCOCOeval

__all__ = ['ExCOCOeval', 'KEYPOINT_STATS']
