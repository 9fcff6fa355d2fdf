# Runtime shared by the skeleton action recognition configs
# (configs/synthactions): MMPose's default runtime with the project's
# checkpoint hooks, SGD with Nesterov momentum (as ST-GCN and MMAction2's
# STGCN configs), a short warm-up and a cosine decay, checkpoints kept by
# the best top-1 accuracy. Each config sets max_epochs:
#   max_epochs = 30
#   train_cfg = dict(max_epochs=max_epochs)
#   param_scheduler = [..., dict(type='CosineAnnealingLR', T_max=max_epochs,
#                                end=max_epochs, ...)]
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['probpose_ext'], allow_failed_imports=False)
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]

max_epochs = 30
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4,
                   nesterov=True),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-4,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(type='SafeCheckpointHook', interval=1,
                    save_best='acc/top1', rule='greater', max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
randomness = dict(seed=0)
