"""Pure maths on tensors and arrays (no registry imports): sparsemax, OKS
kernels, expected-OKS decoding, the OKS-risk loss, activation-window
geometry, Ex-OKS, calibration of probability maps and credible regions,
crop-to-image maps, covariance algebra, the weighted BCE of the scalar
branches, and for lifting: temporally correlated noise, the normalised
(confidence-aware) convolution, the skeleton graph and the depth-uncertainty
likelihoods and calibration measures; for action recognition: the
ST-GCN skeleton graphs."""
from .bce import (balanced_bce_with_logits, weighted_bce_with_logits,
                  weighted_mean)
from .calibration import (calibration_curve, fit_temperature, miscalibration,
                          rank_mass)
from .credible import credible_region_mask, credible_region_stats
from .covariance import (block_diagonal_covariance, covariance_blocks,
                         covariance_ellipse, ellipse_polygon, ellipse_radius,
                         flip_covariances, flip_full_covariances,
                         gaussian_nll, map_covariances, map_full_covariances,
                         marginal_mahalanobis_sq, sample_poses,
                         select_full_covariance, tac, tic_covariance,
                         transform_covariances, transform_full_covariances)
from .crop_transform import (crop_to_image_affine, heatmap_to_image_affine,
                             map_areas, map_boxes, map_points)
from .depth_uncertainty import (ause, chi2_3dof_quantile, ence,
                                gaussian_nll_1d, interval_coverage,
                                normal_interval_z, sparsification,
                                tril_from_params, trivariate_coverage,
                                trivariate_gaussian_nll)
from .double_map import (choose_double_map, heatmap_to_input, input_to_heatmap,
                         wide_window)
from .ex_oks import ex_oks, ex_oks_matrix
from .jacobian import output_jacobian
from .map_moments import (affine_moments, map_moments, map_moments_to_image,
                          map_moments_to_input)
from .oks import (COCO_OKS_THRESHOLDS, ap_kernel_variance_ratio,
                  decode_expected_oks, expected_oks_at, expected_oks_map, oks,
                  oks_variance_authors, oks_variance_instance,
                  oks_variance_nominal)
from .oks_risk import oks_risk, oks_risk_loss, oks_target_map, sobel_energy
from .reliability import (binary_calibration_errors, credible_coverage,
                          reliability_diagram)
from .simplex import sparsemax, sparsemax_loss, sparsemax_maps
from .skeleton_graph import (adjacency, bone_parents, hop_distance,
                             skeleton_bones, skeleton_layout)
from .temporal import (ar1_coefficient, normalized_conv1d, skeleton_adjacency,
                       temporally_correlated_noise)
from .windows import (activation_window, keypoint_domains, pad_to_contain,
                      sq_distance_to_window_boundary)

__all__ = [
    'block_diagonal_covariance', 'marginal_mahalanobis_sq', 'gaussian_nll',
    'tac', 'tic_covariance', 'sample_poses',
    'map_moments', 'affine_moments', 'map_moments_to_input',
    'map_moments_to_image', 'output_jacobian',
    'weighted_mean', 'weighted_bce_with_logits', 'balanced_bce_with_logits',
    'sparsemax', 'sparsemax_maps', 'sparsemax_loss', 'oks',
    'oks_variance_instance',
    'oks_variance_nominal',
    'oks_variance_authors', 'expected_oks_map', 'decode_expected_oks',
    'expected_oks_at', 'ap_kernel_variance_ratio', 'COCO_OKS_THRESHOLDS',
    'oks_target_map', 'oks_risk', 'sobel_energy', 'oks_risk_loss', 'ex_oks',
    'ex_oks_matrix', 'activation_window', 'pad_to_contain',
    'sq_distance_to_window_boundary', 'keypoint_domains', 'rank_mass',
    'calibration_curve', 'miscalibration', 'fit_temperature',
    'credible_region_mask', 'credible_region_stats', 'choose_double_map',
    'input_to_heatmap', 'heatmap_to_input', 'wide_window',
    'reliability_diagram', 'binary_calibration_errors', 'credible_coverage',
    'crop_to_image_affine', 'heatmap_to_image_affine', 'map_points',
    'map_boxes', 'map_areas', 'map_covariances', 'map_full_covariances',
    'covariance_ellipse', 'ellipse_radius', 'ellipse_polygon',
    'transform_covariances', 'transform_full_covariances',
    'flip_covariances', 'flip_full_covariances', 'covariance_blocks',
    'select_full_covariance', 'gaussian_nll_1d', 'trivariate_gaussian_nll',
    'tril_from_params', 'normal_interval_z', 'interval_coverage', 'ence',
    'sparsification', 'ause', 'chi2_3dof_quantile', 'trivariate_coverage',
    'ar1_coefficient', 'temporally_correlated_noise', 'normalized_conv1d',
    'skeleton_adjacency', 'skeleton_layout', 'hop_distance', 'adjacency',
    'bone_parents', 'skeleton_bones'
]
