# ProbPose-s trained on COCO (probpose_vit-s_8xb64-210e_coco-256x192.py),
# tested on CropCOCO val with ground-truth boxes and Ex-OKS / Ex-mAP:
#   python tools/test.py configs/coco/probpose_vit-s_8xb64-210e_cropcoco-256x192.py CHECKPOINT
_base_ = ['./probpose_vit-s_8xb64-210e_coco-256x192.py',
          '../_base_/datasets/cropcoco.py']

test_dataloader = dict(dataset={{_base_.cropcoco_test_dataset}})
test_evaluator = {{_base_.cropcoco_test_evaluator}}
