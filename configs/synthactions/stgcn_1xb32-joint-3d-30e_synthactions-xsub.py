# ST-GCN (Yan et al. 2018) on SynthActions' 3D skeletons (Human3.6M-17,
# metres in the camera frame), cross-subject split: the project's compact
# STGCN (6 units of 32-64-128 channels, spatial partition of the
# Human3.6M tree, temporal kernel 9) on 48-frame clips of joint
# coordinates relative to the first frame's pelvis, SkeletonClsHead, SGD.
# Train: python tools/train.py <this config>; X-View: --cfg-options
# train_dataloader.dataset.split=xview_train
# val_dataloader.dataset.split=xview_val test_dataloader.dataset.split=...
_base_ = ['../_base_/action_runtime.py',
          '../_base_/datasets/synthactions.py']

layout = 'h36m'
clip_len = 48
feats = ('j', )
model = dict(
    type='SkeletonRecognizer',
    backbone=dict(
        type='STGCN',
        graph_cfg=dict(layout=layout, strategy='spatial', max_hop=1),
        in_channels=3 * len(feats),
        base_channels=32,
        num_stages=6,
        inflate_stages=(3, 5),
        down_stages=(3, 5)),
    cls_head=dict(
        type='SkeletonClsHead', num_classes={{_base_.num_classes}},
        in_channels=128, dropout=0.1))

train_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats),
    dict(type='PackSkeletonInputs'),
]
val_pipeline = [
    dict(type='SampleSkeletonFrames', clip_len=clip_len, test_mode=True),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout=layout, feats=feats),
    dict(type='PackSkeletonInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
