# Zoo baseline lifter on SynthMotion (synthmotion-tcn-27frm): MMPose's
# PoseLifter with its TCN backbone (VideoPose3D, Pavllo et al. 2019) on 27
# frames of ground-truth 2D keypoints, MMPose's VideoPoseLifting codec
# (root-relative 3D target, 2D normalised by the image width) and
# TemporalRegressionHead (centre frame). The stem is 512 channels instead of
# VideoPose3D's 1024 so it trains on 2 CPU cores in minutes; docs/lifting.md
# measures both. Schedule: configs/_base_/lifter_runtime.py (6 epochs).
_base_ = ['../_base_/lifter_runtime.py',
          '../_base_/datasets/synthmotion.py']

seq_len = 27

codec = dict(
    type='VideoPoseLifting', num_keypoints=17, zero_center=True,
    root_index=0, remove_root=False)

model = dict(
    type='PoseLifter',
    backbone=dict(
        type='TCN',
        in_channels=2 * 17,
        stem_channels=512,
        num_blocks=2,
        kernel_sizes=(3, 3, 3),
        dropout=0.25,
        use_stride_conv=True),
    head=dict(
        type='TemporalRegressionHead',
        in_channels=512,
        num_joints=17,
        loss=dict(type='MPJPELoss'),
        decoder=codec))

meta_keys = ('id', 'category_id', 'target_img_path', 'flip_indices',
             'target_root')
train_pipeline = [
    dict(type='RandomFlipAroundRoot', keypoints_flip_cfg=dict(),
         target_flip_cfg=dict()),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    dataset=dict(seq_len=seq_len, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(seq_len=seq_len, pipeline=val_pipeline))
test_dataloader = val_dataloader
