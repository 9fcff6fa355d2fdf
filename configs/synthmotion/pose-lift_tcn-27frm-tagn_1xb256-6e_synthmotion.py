# The 27-frame TCN baseline trained with TAGN (Hoang et al. 2024):
# temporally correlated additive Gaussian noise on the 2D input, std drawn
# per sequence in [0, 0.01] of the normalised coordinates (0 to 5 px on a
# 1000-px image), correlation length 5 frames. Validation uses clean input.
_base_ = ['./pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

codec = {{_base_.codec}}
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='RandomFlipAroundRoot', keypoints_flip_cfg=dict(),
         target_flip_cfg=dict()),
    dict(type='TemporalGaussianNoise', std=(0.0, 0.01), corr_len=5.0),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
