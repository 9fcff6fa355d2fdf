# A compact skeleton transformer with partition attention (in the spirit of
# SkateFormer, Do and Kim 2024) in place of the ST-GCN, on the same 3D
# X-Sub data and schedule: 4-frame temporal patches of the Human3.6M-17
# joints (12 x 17 tokens for a 48-frame clip), 4 blocks of 64 channels
# whose 4 heads attend within near / far joints x local (windows of 4
# tokens) / global (stride 4) frames; AdamW as transformers train.
_base_ = ['./stgcn_1xb32-joint-3d-30e_synthactions-xsub.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='SkeletonPartitionFormer',
        layout='h36m',
        in_channels=3,
        embed_dims=64,
        depth=4,
        num_heads=4,
        temporal_stride=4,
        window=4,
        dropout=0.1),
    cls_head=dict(in_channels=64))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0, norm_type=2))
