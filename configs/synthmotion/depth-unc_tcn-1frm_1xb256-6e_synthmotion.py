# Single-frame depth-uncertainty lifter on SynthMotion (the student of the
# pseudo-label study): the 27-frame depth-uncertainty config with the
# single-frame TCN (1x1 kernels).
_base_ = ['./depth-unc_tcn-27frm_1xb256-6e_synthmotion.py']

seq_len = 1
model = dict(backbone=dict(kernel_sizes=(1, 1, 1)))
train_dataloader = dict(dataset=dict(seq_len=seq_len))
val_dataloader = dict(dataset=dict(seq_len=seq_len))
test_dataloader = val_dataloader
