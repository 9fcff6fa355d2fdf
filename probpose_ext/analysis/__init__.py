"""Analyses of data sets and predictions (NumPy; plots on Matplotlib's Agg
canvas): keypoint domains (areas A-E), in/out accuracy vs threshold, the
choice of the presence threshold on a selection split, the calibration of
probability maps and presence, and the localisation of keypoints outside
the image."""
from .calibration import (CalibrationData, collect_calibration_data,
                          evaluate_calibration, fit_calibration,
                          presence_report, run_calibration,
                          write_calibrated_config)
from .domain import domain_counts, domain_table, plot_domains
from .inout import (accuracy_curves, inout_table, load_inout, plot_inout,
                    summarize_inout)
from .outside import outside_image_keypoints, outside_image_summary
from .presence_thr import (choose_presence_thr, pick_threshold,
                           presence_thr_cfg_options, presence_thr_table)

__all__ = [
    'domain_counts', 'domain_table', 'plot_domains', 'accuracy_curves',
    'inout_table', 'load_inout', 'plot_inout', 'summarize_inout',
    'choose_presence_thr', 'pick_threshold', 'presence_thr_cfg_options',
    'presence_thr_table', 'outside_image_keypoints', 'outside_image_summary',
    'CalibrationData', 'collect_calibration_data', 'evaluate_calibration',
    'fit_calibration', 'presence_report', 'run_calibration',
    'write_calibrated_config'
]
