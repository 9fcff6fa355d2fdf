# The SynthPose demo model (ViT-tiny, BN-free, so DDP ranks hold identical
# weights) on the tiny COCO sample, for fast tool and distributed tests.
_base_ = ['../../../configs/synthpose/td-hm_vit-tiny_synthpose-128x96.py']

data_root = '{{ fileDirname }}/../coco/'
coco_sample = dict(
    data_root=data_root, ann_file='test_coco.json', data_prefix=dict(img=''))
loader = dict(num_workers=0, persistent_workers=False, dataset=coco_sample)

train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
default_hooks = dict(logger=dict(interval=1))
train_dataloader = dict(batch_size=2, **loader)
val_dataloader = dict(batch_size=4, **loader)
test_dataloader = val_dataloader
# EPE is continuous: any difference in any prediction changes it.
val_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + 'test_coco.json'),
    dict(type='EPE'),
]
test_evaluator = val_evaluator
