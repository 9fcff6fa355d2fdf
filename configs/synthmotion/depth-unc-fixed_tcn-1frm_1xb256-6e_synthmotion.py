# The proposal's phase-1 baseline: the single-frame depth lifter with a
# fixed depth sigma of 5 cm (the Gaussian NLL with a constant sigma is a
# weighted MSE; the head reports that sigma for every joint).
_base_ = ['./depth-unc_tcn-1frm_1xb256-6e_synthmotion.py']

model = dict(head=dict(depth_loss=dict(fixed_sigma=0.05)))
