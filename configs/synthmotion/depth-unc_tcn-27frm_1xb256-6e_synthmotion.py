# Depth-uncertainty lifter on SynthMotion, 27 frames (the teacher of the
# pseudo-label study, tools/analysis_tools/pseudo_labels.py): the baseline
# TCN with DepthUncertaintyHead, which also predicts per joint the
# log-variance of the root-relative depth, trained with the Gaussian NLL
# (form='nll'; form='proposal' is the EPFL proposal's Eq. 1, whose optimum
# sigma is sqrt(2)|y - mu|; fixed_sigma=... is its phase-1 baseline; the
# head's mode='xyz' predicts a full 3x3 Gaussian per joint). The MPJPE loss
# and the NLL (weight 0.01) both train the mean. SoftLiftingTargetWeight
# weights joints by the fourth column of S: 1 for ground truth, the
# teacher's confidence for pseudo-labels.
_base_ = ['./pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

codec = {{_base_.codec}}
meta_keys = {{_base_.meta_keys}}
model = dict(
    head=dict(
        _delete_=True,
        type='DepthUncertaintyHead',
        in_channels=512,
        num_joints=17,
        mode='depth',
        loss=dict(type='MPJPELoss', use_target_weight=True),
        depth_loss=dict(type='DepthGaussianNLLLoss', form='nll'),
        depth_loss_weight=0.01,
        decoder=codec))

train_pipeline = [
    dict(type='RandomFlipAroundRoot', keypoints_flip_cfg=dict(),
         target_flip_cfg=dict()),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='SoftLiftingTargetWeight'),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='MPJPE', mode='mpjpe'),
    dict(type='MPJPE', mode='p-mpjpe'),
    dict(type='DepthUncertaintyMetric', root_index=0),
]
test_evaluator = val_evaluator
