# One-frame TCN on SynthMotion-Video: the lifter of the cross-source matrix
# (tools/analysis_tools/robustness_matrix.py, docs/robustness.md), one per
# 2D training source; per-frame sources (samples of a probabilistic 2D
# model are drawn per frame) need no temporal model.
_base_ = ['./pose-lift_tcn-27frm_1xb256-16e_synthmotion-video.py']

seq_len = 1
model = dict(backbone=dict(kernel_sizes=(1, 1, 1)))
train_dataloader = dict(dataset=dict(seq_len=seq_len))
val_dataloader = dict(dataset=dict(seq_len=seq_len))
test_dataloader = val_dataloader
