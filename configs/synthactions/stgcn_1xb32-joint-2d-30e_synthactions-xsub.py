# ST-GCN on SynthActions' 2D skeletons (COCO-17 pixels of a 1920x1080
# camera, as MMAction2's ntu60_2d.pkl), cross-subject split: the 3D
# config's network on the COCO tree, input (x, y) normalised to [-1, 1] by
# the image size (MMAction2's PreNormalize2D). No score channel: the
# ground-truth scores are all 1, and a channel that is constant in
# training gets a near-zero variance in the input BatchNorm, so any other
# score at test time (a missing joint, a detector's confidence) is blown
# up ~300x (docs/action_recognition.md measures it with
# stgcn_1xb32-joint-score-2d-30e_synthactions-xsub.py).
# tools/analysis_tools/action_robustness.py feeds it keypoint corruptions
# and the 2D zoo models' predictions.
_base_ = ['./stgcn_1xb32-joint-3d-30e_synthactions-xsub.py']

ann_file = 'synthactions_2d.pkl'
layout = 'coco'
clip_len = {{_base_.clip_len}}
feats = ('j', )
with_score = False
model = dict(
    backbone=dict(
        graph_cfg=dict(layout=layout),
        in_channels=(2 + with_score) * len(feats)))

train_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats,
         with_score=with_score),
    dict(type='PackSkeletonInputs'),
]
val_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len, test_mode=True),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats,
         with_score=with_score),
    dict(type='PackSkeletonInputs'),
]
train_dataloader = dict(
    dataset=dict(ann_file=ann_file, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(ann_file=ann_file, pipeline=val_pipeline))
test_dataloader = val_dataloader
