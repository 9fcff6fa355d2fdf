# ST-GCN on SynthActions' 2D skeletons (COCO-17 pixels of a 1920x1080
# camera, as MMAction2's ntu60_2d.pkl), cross-subject split: the 3D
# config's network on the COCO tree, input (x, y, score) with the pixels
# normalised to [-1, 1] by the image size (MMAction2's PreNormalize2D).
# The action-robustness study (tools/analysis_tools/action_robustness.py)
# feeds it keypoint corruptions and the 2D zoo models' predictions.
_base_ = ['./stgcn_1xb32-joint-3d-30e_synthactions-xsub.py']

ann_file = 'synthactions_2d.pkl'
layout = 'coco'
clip_len = {{_base_.clip_len}}
feats = ('j', )
model = dict(
    backbone=dict(graph_cfg=dict(layout=layout), in_channels=3 * len(feats)))

train_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats,
         with_score=True),
    dict(type='PackSkeletonInputs'),
]
val_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len, test_mode=True),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats,
         with_score=True),
    dict(type='PackSkeletonInputs'),
]
train_dataloader = dict(
    dataset=dict(ann_file=ann_file, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(ann_file=ann_file, pipeline=val_pipeline))
test_dataloader = val_dataloader
