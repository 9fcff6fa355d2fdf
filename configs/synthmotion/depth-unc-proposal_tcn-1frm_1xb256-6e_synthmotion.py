# The single-frame depth-uncertainty lifter trained with the EPFL
# proposal's Eq. 1, ln sigma + (y - mu)^2 / sigma^2, whose optimum is
# sigma = sqrt(2)|y - mu|: its raw sigmas are reported (std_scale=1) to
# show the over-statement; std_scale=1/sqrt(2) calibrates them.
_base_ = ['./depth-unc_tcn-1frm_1xb256-6e_synthmotion.py']

model = dict(head=dict(depth_loss=dict(form='proposal')))
