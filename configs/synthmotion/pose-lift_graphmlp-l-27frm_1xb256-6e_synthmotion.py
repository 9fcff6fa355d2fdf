# A larger GraphMLP-style lifter, 27 frames (a probe of the comparison with
# the TCN, docs/lifting.md): 256 dims, 4 blocks, 512-wide token MLP, about
# the TCN baseline's 2.2M parameters.
_base_ = ['./pose-lift_graphmlp-27frm_1xb256-6e_synthmotion.py']

embed_dims = 256
model = dict(
    backbone=dict(embed_dims=embed_dims, num_blocks=4, token_hidden=512),
    head=dict(in_channels=17 * embed_dims))
