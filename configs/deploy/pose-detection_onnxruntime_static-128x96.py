# MMDeploy 1.3.1 deploy config: a SynthPose top-down model (128x96 input)
# to ONNX Runtime, static batch 1 (MMDeploy's
# configs/mmpose/pose-detection_onnxruntime_static.py with this input size).
#   python -c "import probpose_ext; from mmdeploy.apis import torch2onnx; \
#     torch2onnx(IMG, 'work_dirs/mmdeploy', 'end2end.onnx', \
#     'configs/deploy/pose-detection_onnxruntime_static-128x96.py', \
#     MODEL_CONFIG, CHECKPOINT, device='cpu')"
# probpose_ext must be imported before MMDeploy's MMPose codebase (its
# mmcv-lite stand-in; docs/deploy.md#mmdeploy). With torch >= 2.9,
# torch.onnx.export (which MMDeploy calls) is the dynamo exporter: it writes
# opset 18 whatever is asked (a lower opset is converted back and fails on
# Pad), hence opset 18 here. MMDeploy's ONNX Runtime model decodes the
# first output only (keypoints and scores); for ProbPose's presence,
# visibility, quality and credible regions use the project's exporter
# (tools/deployment/pytorch2onnx.py) and OnnxPoseEstimator.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=18,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=[96, 128],  # (W, H), MMDeploy's order
    optimize=False)
codebase_config = dict(type='mmpose', task='PoseDetection')
backend_config = dict(type='onnxruntime')
