"""Analyses of data sets and predictions (NumPy; plots on Matplotlib's Agg
canvas): keypoint domains (areas A-E), in/out accuracy vs threshold and the
choice of the presence threshold on a selection split."""
from .domain import domain_counts, domain_table, plot_domains
from .inout import (accuracy_curves, inout_table, load_inout, plot_inout,
                    summarize_inout)
from .presence_thr import (choose_presence_thr, pick_threshold,
                           presence_thr_cfg_options, presence_thr_table)

__all__ = [
    'domain_counts', 'domain_table', 'plot_domains', 'accuracy_curves',
    'inout_table', 'load_inout', 'plot_inout', 'summarize_inout',
    'choose_presence_thr', 'pick_threshold', 'presence_thr_cfg_options',
    'presence_thr_table'
]
