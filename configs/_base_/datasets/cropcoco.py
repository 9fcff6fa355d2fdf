# CropCOCO val settings (COCO val2017 people cut by the CropCOCO generator,
# docs/cropcoco_ex_oks.md: tools/dataset_converters/make_cropcoco.py writes
# it to data/cropcoco): the test dataset and the Ex-OKS metric, as variables
# a config built on a COCO config reads to test on CropCOCO (MMEngine does
# not let two bases both define test_dataloader):
#   _base_ = ['./probpose_vit-s_8xb64-210e_coco-256x192.py',
#             '../_base_/datasets/cropcoco.py']
#   test_dataloader = dict(dataset={{_base_.cropcoco_test_dataset}})
#   test_evaluator = {{_base_.cropcoco_test_evaluator}}
# The pipeline stays the COCO config's.
cropcoco_data_root = 'data/cropcoco/'
cropcoco_test_dataset = dict(
    type='CropCocoDataset',
    data_root=cropcoco_data_root,
    data_mode='topdown',
    ann_file='annotations/person_keypoints_val.json',
    data_prefix=dict(img='val/'),
    bbox_file=None,
    test_mode=True)
cropcoco_test_evaluator = dict(
    type='ExCocoMetric',
    ann_file=cropcoco_data_root + 'annotations/person_keypoints_val.json')
