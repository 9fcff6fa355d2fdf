"""Export a top-down pose model (or a zoo model by name) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG|ZOO_NAME [CHECKPOINT]
        [--output-file F.onnx] [--shape N C H W] [--opset-version V]
        [--dynamic-batch] [--fp16] [--verify]

See docs/deploy.md.
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from probpose_ext.apis.deploy import export_main  # noqa: E402

if __name__ == '__main__':
    export_main()
