# The 27-frame TCN trained with temporally correlated 2D noise (TAGN, as
# configs/synthmotion/pose-lift_tcn-27frm-tagn_1xb256-6e_synthmotion.py) on
# SynthMotion-Video's ground-truth 2D (docs/robustness.md).
_base_ = ['./pose-lift_tcn-27frm_1xb256-16e_synthmotion-video.py']

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
