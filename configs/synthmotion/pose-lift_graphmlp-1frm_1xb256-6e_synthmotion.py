# GraphMLP-style lifter on SynthMotion, one frame (synthmotion-graphmlp-
# 1frm): the 27-frame GraphMLP config on a single frame.
_base_ = ['./pose-lift_graphmlp-27frm_1xb256-6e_synthmotion.py']

seq_len = 1
model = dict(backbone=dict(seq_len=seq_len))
train_dataloader = dict(dataset=dict(seq_len=seq_len))
val_dataloader = dict(dataset=dict(seq_len=seq_len))
test_dataloader = val_dataloader
