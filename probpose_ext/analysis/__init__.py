"""Analyses of data sets and predictions (NumPy; plots on Matplotlib's Agg
canvas): keypoint domains (areas A-E) and in/out accuracy vs threshold."""
from .domain import domain_counts, domain_table, plot_domains
from .inout import (accuracy_curves, inout_table, load_inout, plot_inout,
                    summarize_inout)

__all__ = [
    'domain_counts', 'domain_table', 'plot_domains', 'accuracy_curves',
    'inout_table', 'load_inout', 'plot_inout', 'summarize_inout'
]
