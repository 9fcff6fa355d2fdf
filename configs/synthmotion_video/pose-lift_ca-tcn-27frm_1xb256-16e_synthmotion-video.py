# The confidence-aware TCN (CA-Conv first layer, trained with TAGN as
# configs/synthmotion/pose-lift_ca-tcn-27frm_1xb256-6e_synthmotion.py) on
# SynthMotion-Video's ground-truth 2D (docs/robustness.md). Its input
# confidences are 1 in training; at test the 2D models' keypoint scores
# weigh the frames of its first temporal convolution.
_base_ = ['./pose-lift_tcn-27frm-tagn_1xb256-16e_synthmotion-video.py']

codec = dict(
    type='VideoPoseLifting', num_keypoints=17, zero_center=True,
    root_index=0, remove_root=False, concat_vis=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='CATCN',
        in_channels=3 * 17,
        stem_channels=512,
        num_blocks=2,
        kernel_sizes=(3, 3, 3),
        dropout=0.25,
        use_stride_conv=True),
    head=dict(decoder=codec))

meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='RandomFlipAroundRoot', keypoints_flip_cfg=dict(),
         target_flip_cfg=dict()),
    dict(type='TemporalGaussianNoise', std=(0.0, 0.01), corr_len=5.0),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
