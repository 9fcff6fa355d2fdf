# The full-covariance ("2.5D") variant: the single-frame depth lifter
# predicting per joint a 3x3 Gaussian of the root-relative camera-frame
# offset (x, y, z), trained with the trivariate NLL; it also reports
# keypoints_cov3d and the cov3d/* metrics.
_base_ = ['./depth-unc_tcn-1frm_1xb256-6e_synthmotion.py']

model = dict(head=dict(mode='xyz'))
