# The 2d X-Sub ST-GCN on SynthActions' cross-view split (NTU-60's rule:
# train on cameras 2 and 3 at -45 and +45 degrees, validate on the front
# camera 1).
_base_ = ['./stgcn_1xb32-joint-2d-30e_synthactions-xsub.py']

train_dataloader = dict(dataset=dict(split='xview_train'))
val_dataloader = dict(dataset=dict(split='xview_val'))
test_dataloader = val_dataloader
