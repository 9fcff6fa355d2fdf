# ProbPose-DH-s on COCO: probpose_vit-s_8xb64-210e_coco-256x192.py (ViTPose-S backbone,
# 256x192 input, schedule, crop augmentation, flip test, Ex-OKS evaluation)
# with the double-heatmap head: an expert 64x48 map over the input crop and
# a wide 64x48 map over the crop scaled by `wide_factor` (1.25) about its
# centre, each trained with the OKS-risk loss on the keypoints inside its
# window; decoding uses the wide map unless its estimate falls inside the
# input crop, where the expert map's estimate is used.
_base_ = ['./probpose_vit-s_8xb64-210e_coco-256x192.py']

codec = dict(
    type='ProbMapDH', input_size=(192, 256), heatmap_size=(48, 64),
    kernel='instance', padding=1.25, wide_factor=1.25)

model = dict(
    head=dict(type='ProbMapDHHead', wide_loss_weight=1.0, decoder=codec))

# the ProbPose pipeline with the DH codec generating the targets
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomCropOut', prob=0.8, keep_ratio=(0.7, 0.9)),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlipRawVis', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
