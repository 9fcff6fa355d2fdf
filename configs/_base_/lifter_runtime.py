# Runtime shared by the lifter configs (configs/synthmotion, configs/h36m):
# MMPose's default runtime with the project's checkpoint hooks, Adam with a
# short warm-up and a cosine decay, checkpoints kept by the best MPJPE.
# Each lifter sets max_epochs (and may override the learning rate):
#   max_epochs = 6
#   train_cfg = dict(max_epochs=max_epochs)
#   param_scheduler = [..., dict(type='CosineAnnealingLR', T_max=max_epochs,
#                                end=max_epochs, ...)]
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['probpose_ext'], allow_failed_imports=False)
# weights-only checkpoints, exact --resume (random states), and a checkpoint
# hook that never deletes the last checkpoint before the new one is written
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]

max_epochs = 6
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3),
    clip_grad=dict(max_norm=5.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=200, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, save_best='MPJPE',
                    rule='less', max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'))
randomness = dict(seed=0)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Pose3dLocalVisualizer', vis_backends=vis_backends, name='visualizer')
