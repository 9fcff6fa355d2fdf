# Single-frame TCN lifter on SynthMotion (synthmotion-tcn-1frm): the TCN of
# the 27-frame baseline with 1x1 kernels (SimpleBaseline3D, Martinez et al.
# 2017: residual MLP blocks on one frame), the frame-count match of the
# single-frame GraphMLP-style lifter.
_base_ = ['./pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

seq_len = 1
model = dict(backbone=dict(kernel_sizes=(1, 1, 1)))
train_dataloader = dict(dataset=dict(seq_len=seq_len))
val_dataloader = dict(dataset=dict(seq_len=seq_len))
test_dataloader = val_dataloader
