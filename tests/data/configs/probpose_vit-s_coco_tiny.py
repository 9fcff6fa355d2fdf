# configs/probpose_vit-s_coco.py on the tiny COCO sample: no pretrained
# weights, 1 epoch of 2 iterations, then validation.
_base_ = ['../../../configs/probpose_vit-s_coco.py']

data_root = '{{ fileDirname }}/../coco/'
coco_sample = dict(
    data_root=data_root, ann_file='test_coco.json', data_prefix=dict(img=''),
    bbox_file=None)
loader = dict(num_workers=0, persistent_workers=False, dataset=coco_sample)
train_cfg = dict(max_epochs=1, val_interval=1)
model = dict(backbone=dict(init_cfg=None, drop_path_rate=0.0))
default_hooks = dict(logger=dict(interval=1))
train_dataloader = dict(batch_size=6, **loader)
val_dataloader = dict(batch_size=6, **loader)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
randomness = dict(seed=0)
