# The short name of configs/coco/probpose-dh_vit-s_8xb64-210e_coco-256x192.py
# (ProbPose-DH-s on COCO), kept because users and docs type it.
_base_ = ['./coco/probpose-dh_vit-s_8xb64-210e_coco-256x192.py']
