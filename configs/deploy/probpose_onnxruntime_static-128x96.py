# MMDeploy 1.3.1 deploy config for the SynthPose ProbPose / ProbPose-DH
# models: the ProbMapHead's forward returns five tensors (probability maps,
# map logits, presence / visibility / quality logits). See
# pose-detection_onnxruntime_static-128x96.py for the command and limits.
_base_ = ['./pose-detection_onnxruntime_static-128x96.py']
onnx_config = dict(
    output_names=['prob', 'logits', 'presence', 'visibility', 'quality'])
