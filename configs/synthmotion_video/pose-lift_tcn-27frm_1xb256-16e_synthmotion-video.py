# The zoo's 27-frame TCN lifter (configs/synthmotion) trained on the
# ground-truth 2D of SynthMotion-Video (the rendered SynthMotion frames,
# data/synthmotion_video, docs/synthmotion_video.md): the plain lifter of
# the robustness study (docs/robustness.md). The train split has 8000
# frames (1/8 of SynthMotion's), so the schedule is longer in epochs.
# tools/analysis_tools/robustness.py trains it with other 2D sources by
# setting keypoint_2d_src='detection' and keypoint_2d_det_file.
_base_ = ['../synthmotion/pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

data_root = 'data/synthmotion_video/'
train_ann_file = 'annotation_body3d/fps25/synthmotion_video_train.npz'
test_ann_file = 'annotation_body3d/fps25/synthmotion_video_test.npz'
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file=train_ann_file))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file=test_ann_file))
test_dataloader = val_dataloader

max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
