# Heatmap baseline on SynthPose (the embedded synthetic dataset): MMPose's
# TopdownPoseEstimator with an mmpretrain ViT-tiny backbone (6 layers,
# patch 16), the ViTPose "simple" decoder (bilinear x4 + 3x3 conv, BN-free) and
# MMPose's HeatmapHead, 128x96 input, 32x24 heatmaps. Trained from scratch on
# CPU by `make demo` (see README for the AP it reaches and its wall time).
_base_ = ['mmpose::_base_/default_runtime.py',
          '../_base_/datasets/synthpose.py']

custom_imports = dict(imports=['probpose_ext'], allow_failed_imports=False)
# weights-only checkpoints, exact --resume (random states), and a checkpoint
# hook that never deletes the last checkpoint before the new one is written
# (this project's tools add these by themselves; MMPose's need them here)
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]

# runtime
max_epochs = 4
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(type='SafeCheckpointHook', save_best='coco/AP',
                    rule='greater', max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
randomness = dict(seed=0)

# codec
codec = dict(
    type='UDPHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2.0)

# model
embed_dims = 192
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=4,
            num_heads=3,
            feedforward_channels=4 * embed_dims),
        img_size=(128, 96),
        patch_size=8,
        qkv_bias=True,
        drop_path_rate=0.0,
        with_cls_token=False,
        out_type='featmap',
        init_cfg=None),
    neck=dict(type='FeatureMapProcessor', scale_factor=2.0, apply_relu=True),
    head=dict(
        type='HeatmapHead',
        in_channels=embed_dims,
        out_channels=17,
        deconv_out_channels=[],
        deconv_kernel_sizes=[],
        final_layer=dict(kernel_size=3, padding=1),
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

train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
