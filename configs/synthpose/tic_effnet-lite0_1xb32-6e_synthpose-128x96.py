# TIC-TAC on SynthPose (synthpose-tic, issue 16): the zoo ProbPose config
# (probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py: the heatmap
# baseline's backbone, neck, deconvolutions and input size, the ProbMap
# codec, crop augmentation) with the TICHead:
# soft-argmax keypoints on 64x48 maps refined through a 32-d bottleneck z,
# and a full 34x34 covariance eps1 J J^T + L L^T (J = d means / d z, L and
# eps1 from an auxiliary network on the detached z), trained by its Gaussian
# NLL over the present joints, the soft-argmax position error and a KL map
# loss to a 1-px Gaussian at the GT (docs/tictac.md).
# Schedule: fine-tuned for 6 epochs from the zoo heatmap model
# (load_from; its deconvolutions and final layer are the TIC maps, read at
# inverse temperature beta=20: docs/tictac.md has the beta probe and why a
# from-scratch soft-argmax run did not localise in 4 epochs).
# The baselines of the comparison change one key, model.head.covariance:
# 'nll' (L L^T), 'diagonal', 'beta_nll' or 'faithful', e.g.
#   --cfg-options model.head.covariance=nll
# The ProbMap codec gives the labels in heatmap pixels on the UDP grid and
# the in-window labels the presence branch trains on (its decoding is not
# used); the pipeline is the zoo ProbPose one, inherited (crop augmentation,
# so some keypoints leave the input: absent joints, masked in the NLL).
_base_ = ['./probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py']

load_from = 'checkpoints/synthpose/synthpose-heatmap.pth'
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         begin=0, end=max_epochs, by_epoch=True, convert_to_iter_based=True),
]

codec = dict(
    type='ProbMap', input_size=(96, 128), heatmap_size=(48, 64),
    kernel='instance', padding=1.25)

# ProbPoseEstimator maps keypoints_cov_full (N, 34, 34) and keypoints_cov
# (N, 17, 2, 2) from input to image pixels like the keypoints; the flip test
# averages the means and the (mirrored) covariances of the two passes.
model = dict(
    type='ProbPoseEstimator',
    head=dict(
        _delete_=True,
        type='TICHead',
        in_channels=128,
        out_channels=17,
        deconv_out_channels=(128, 64),
        deconv_kernel_sizes=(4, 4),
        covariance='tic',
        beta=20.0,
        bottleneck_channels=32,
        init_std=2.0,
        mean_loss_weight=1.0,
        map_loss_weight=1.0,
        map_sigma=1.0,
        decoder=codec),
    # not ProbPose's (credible regions, its keypoint score)
    test_cfg=dict(_delete_=True, flip_test=True))

# COCO AP, the presence probability's in/out accuracy, and TAC / NLL /
# ellipse coverage of the joint covariances
val_evaluator = [
    dict(type='ExCocoMetric',
         ann_file='data/synthpose/annotations/person_keypoints_val.json'),
    dict(type='PresenceAccuracy', thr=0.5),
    dict(type='TACMetric', levels=(0.68, 0.95)),
]
test_evaluator = val_evaluator
