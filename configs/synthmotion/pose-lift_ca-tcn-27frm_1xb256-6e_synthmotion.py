# Confidence-aware TCN lifter on SynthMotion, 27 frames: the baseline TCN
# whose first temporal convolution is a CA-Conv (CATCN: a normalised
# convolution weighted by each joint's 2D confidence, so a zero-confidence
# frame contributes nothing). The codec appends the confidence to each
# joint (concat_vis=True: x, y, c); with 2D from a detector it is its
# keypoint score or presence probability (keypoint_2d_src='detection'),
# with ground truth the visibility. Trained with TAGN on the 2D input.
_base_ = ['./pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

seq_len = 27
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

meta_keys = ('id', 'category_id', 'target_img_path', 'flip_indices',
             'target_root')
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
