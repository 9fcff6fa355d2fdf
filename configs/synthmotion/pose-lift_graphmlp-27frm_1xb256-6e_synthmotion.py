# GraphMLP-style lifter on SynthMotion, 27 frames (synthmotion-graphmlp-
# 27frm): GraphMLPLifter (one token per joint, the 27 frames folded into its
# features; spatial and channel graph MLPs over MMPose's Human3.6M skeleton)
# in MMPose's PoseLifter with the baseline's codec, head, loss, data and
# schedule (pose-lift_tcn-27frm_...py); only the backbone differs.
_base_ = ['./pose-lift_tcn-27frm_1xb256-6e_synthmotion.py']

seq_len = 27
embed_dims = 128
model = dict(
    backbone=dict(
        _delete_=True,
        type='GraphMLPLifter',
        num_joints=17,
        in_channels=2,
        seq_len=seq_len,
        embed_dims=embed_dims,
        num_blocks=3,
        token_hidden=256,
        mlp_ratio=4.0,
        dropout=0.0),
    head=dict(in_channels=17 * embed_dims))
