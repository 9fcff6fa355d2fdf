# A stock MMPose config, used unchanged except for what a user would change
# to run it here: probpose_ext through custom_imports and its hooks (as the
# README says; MMPose's runtime keeps its SyncBuffersHook), the tiny COCO
# sample in tests/data/coco, a small backbone without pretrained weights,
# 1 epoch.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_res50_8xb64-210e_coco-256x192.py']

custom_imports = dict(imports=['probpose_ext'], allow_failed_imports=False)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='PlainCheckpointHook'),
    dict(type='RngStateHook'),
]

data_root = '{{ fileDirname }}/../coco/'
train_cfg = dict(max_epochs=1, val_interval=1)
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    head=dict(in_channels=512))
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, ann_file='test_coco.json', data_prefix=dict(img='')))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='test_coco.json',
        bbox_file=None,
        data_prefix=dict(img='')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(type='SafeCheckpointHook'))
randomness = dict(seed=0)
