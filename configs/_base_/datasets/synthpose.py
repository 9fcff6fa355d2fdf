# SynthPose data settings (the embedded synthetic COCO-keypoint data,
# docs/synthpose.md; `make demo` or tools/dataset_converters/make_synthpose.py
# writes it to data/synthpose): top-down CropCocoDataset loaders and the
# Ex-OKS COCO metric on SynthPose val. Unlike MMPose's
# configs/_base_/datasets/*.py, which hold keypoint metainfo, this holds the
# data block (MMDetection's convention); the keypoints are COCO's 17, whose
# metainfo comes from MMPose. The pipelines depend on the model's codec, so
# each config adds them:
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
#   val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
#   test_dataloader = val_dataloader
# CropCocoDataset is MMPose's CocoDataset that also keeps the raw CropCOCO
# visibility (v=3), so the same config evaluates on SynthPose-Crop.
dataset_type = 'CropCocoDataset'
data_mode = 'topdown'
data_root = 'data/synthpose/'
metainfo = dict(from_file='configs/_base_/datasets/coco.py')

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=metainfo,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='train/')))
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=metainfo,
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True))
test_dataloader = val_dataloader

# CocoMetric's statistics plus Ex-OKS ones; without a presence head the
# heatmap confidence decides in/out (the paper's baseline)
val_evaluator = dict(
    type='ExCocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
