"""Top-down inference with probabilistic fields (JSON + drawings).

    python tools/infer.py IMG CONFIG|ZOO_NAME|F.onnx [CHECKPOINT|F.onnx]
        [--bboxes X0 Y0 X1 Y1 ...]
        [--out-json PRED.json] [--vis-out OUT.png|DIR] [--draw-heatmap]
        [--draw-bbox] [--kpt-thr 0.3] [--presence-thr P] [--device cpu]
        [--cfg-options k=v ...]

IMG is an image or a directory of images; without --bboxes the whole image
is one person box. See probpose_ext/apis/infer.py.
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from probpose_ext.apis import infer_main  # noqa: E402

if __name__ == '__main__':
    infer_main()
