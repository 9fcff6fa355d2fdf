# The 2D X-Sub ST-GCN with the keypoint score as a third input channel
# (x, y, score), as MMAction2's 2D configs feed it. SynthActions' scores
# are all 1, so the input BatchNorm learns a near-zero variance for that
# channel: kept to measure what that does to missing joints and to the 2D
# zoo models' confidences (docs/action_recognition.md).
_base_ = ['./stgcn_1xb32-joint-2d-30e_synthactions-xsub.py']

layout = 'coco'
clip_len = {{_base_.clip_len}}
feats = ('j', )
with_score = True
model = dict(backbone=dict(in_channels=3 * len(feats)))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
