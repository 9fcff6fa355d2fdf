# SynthActions data settings (the embedded synthetic action clips written
# in MMAction2's pickle layout by
# tools/dataset_converters/make_synthactions.py to data/synthactions;
# docs/action_recognition.md): SkeletonActionDataset (MMAction2's
# PoseDataset on MMPose's registry) with the cross-subject split, and the
# top-1 / top-5 / mean-class accuracy. Each config sets the pipelines:
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
#   val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
# The same block reads NTU-60 (MMAction2's ntu60_3d.pkl / ntu60_2d.pkl) by
# changing data_root, ann_file, the layout ('nturgb+d' / 'coco') and
# num_classes; the cross-view split is xview_train / xview_val.
dataset_type = 'SkeletonActionDataset'
data_root = 'data/synthactions/'
ann_file = 'synthactions_3d.pkl'
train_split, val_split = 'xsub_train', 'xsub_val'
num_classes = 12

# a sample is one small array: loading in the main process is faster than
# handing batches over from a worker on 2 cores
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file=ann_file,
        split=train_split))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file=ann_file,
        split=val_split, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='ActionAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
