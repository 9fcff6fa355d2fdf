"""AP / Ex-AP of the 2D zoo models in PyTorch and in ONNX Runtime (fp32,
fp16) on SynthPose val and SynthPose-Crop val (the README's deploy table).

    python tools/deployment/zoo_parity.py [--names synthpose-probpose ...]
        [--out-dir work_dirs/deploy]

Exports each model with tools/deployment/pytorch2onnx.py's exporter,
evaluates every backend with the config's test settings and writes
parity.md / parity.json; results are cached in --out-dir.
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from probpose_ext.apis.deploy import zoo_parity_main  # noqa: E402

if __name__ == '__main__':
    zoo_parity_main()
