# The short name of configs/coco/probpose_vit-s_8xb64-210e_coco-256x192.py
# (ProbPose-s on COCO), kept because users and docs type it.
_base_ = ['./coco/probpose_vit-s_8xb64-210e_coco-256x192.py']
