# The SynthMotion config pose-lift_tcn-1frm_1xb256-6e_synthmotion.py on the real
# Human3.6M, as MMPose's tools/dataset_converters/preprocess_h36m.py lays it
# out under data/h36m (same model, codec, pipelines, schedule and metrics;
# the schedule was chosen on SynthMotion, see docs/lifting.md).
_base_ = ['../synthmotion/pose-lift_tcn-1frm_1xb256-6e_synthmotion.py']

data_root = 'data/h36m/'
train_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file='annotation_body3d/fps50/h36m_train.npz'))
val_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file='annotation_body3d/fps50/h36m_test.npz'))
test_dataloader = val_dataloader
