# ProbPose-s on COCO (Purkrabek & Matas, CVPR 2025): MMPose's ViTPose-S
# (mmpretrain ViT-S, 256x192 input, AdamW with layer decay, flip test) with
# the ProbPose head: sparsemax probability maps (64x48) trained with the OKS
# expected-risk loss, expected-OKS decoding, presence / visibility / quality
# branches, and crop augmentation. Expects COCO at data/coco (MMPose layout).
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_ViTPose-small_8xb64-210e_coco-256x192.py']

custom_imports = dict(
    imports=['mmpose.engine.optim_wrappers.layer_decay_optim_wrapper',
             'probpose_ext'],
    allow_failed_imports=False)
# weights-only checkpoints, exact --resume (random states), and a checkpoint
# hook that never deletes the last checkpoint before the new one is written
# (this project's tools add these by themselves; MMPose's need them here)
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))

codec = dict(
    type='ProbMap', input_size=(192, 256), heatmap_size=(48, 64),
    kernel='instance', padding=1.25)

# ProbPoseEstimator maps the credible boxes/areas (and covariances) to image
# pixels like the keypoints; credible_level adds 90% credible regions
model = dict(
    type='ProbPoseEstimator',
    head=dict(
        _delete_=True,
        type='ProbMapHead',
        in_channels=384,
        out_channels=17,
        deconv_out_channels=(256, 256),
        deconv_kernel_sizes=(4, 4),
        temperature=0.5,
        loss=dict(type='OKSRiskLoss', alpha=0.05),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False,
                  credible_level=0.9))

# hides keypoints with presence < presence_thr, draws the credible boxes
visualizer = dict(type='ProbPoseLocalVisualizer', presence_thr=0.5)

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
# CropCocoDataset keeps the raw CropCOCO visibility (v=3) for the codec when
# training on CropCOCO; on COCO it behaves as CocoDataset
train_dataloader = dict(
    dataset=dict(type='CropCocoDataset', pipeline=train_pipeline))

# MMPose's COCO statistics plus Ex-OKS / Ex-mAP (same ann_file as the base)
val_evaluator = dict(type='ExCocoMetric')
test_evaluator = val_evaluator
