# SynthMotion data settings (the embedded synthetic 3D motions, written in
# MMPose's Human3.6M layout by tools/dataset_converters/make_synthmotion.py
# to data/synthmotion; docs/lifting.md): MMPose's own Human36mDataset
# loaders and MPJPE metrics (P1 = MPJPE, P2 = P-MPJPE, in mm). As
# configs/_base_/datasets/synthpose.py this holds the data block; each
# lifter config sets the sequence length and the codec's pipelines:
#   seq_len = 27
#   train_dataloader = dict(dataset=dict(seq_len=seq_len,
#                                        pipeline=train_pipeline))
#   val_dataloader = dict(dataset=dict(seq_len=seq_len,
#                                      pipeline=val_pipeline))
# The same block reads the real Human3.6M by changing data_root and the
# annotation names (configs/h36m/).
dataset_type = 'Human36mDataset'
data_root = 'data/synthmotion/'
train_ann_file = 'annotation_body3d/fps50/synthmotion_train.npz'
test_ann_file = 'annotation_body3d/fps50/synthmotion_test.npz'
camera_param_file = 'annotation_body3d/cameras.pkl'

# Data loading in the main process: a lifting sample is a few small arrays,
# and handing 256 of them from a worker process costs more than making them
# (1 worker: 0.58 s per batch of 256 on 2 cores, most of it waiting for the
# worker; in-process about 40% less)
train_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=train_ann_file,
        seq_len=1,
        causal=False,
        pad_video_seq=True,
        camera_param_file=camera_param_file,
        data_root=data_root,
        data_prefix=dict(img='images/')))
val_dataloader = dict(
    batch_size=512,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        ann_file=test_ann_file,
        seq_len=1,
        causal=False,
        pad_video_seq=True,
        camera_param_file=camera_param_file,
        data_root=data_root,
        data_prefix=dict(img='images/'),
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='MPJPE', mode='mpjpe'),
    dict(type='MPJPE', mode='p-mpjpe'),
]
test_evaluator = val_evaluator
