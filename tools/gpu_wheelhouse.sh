#!/usr/bin/env bash
# Collect, on a machine that reaches PyPI, what tools/gpu_check.sh installs on
# a GPU machine that has its own torch but no OpenMMLab stack and no package
# index: pure-Python and manylinux wheels for the GPU machine's Python, a
# pure-Python mmcv-lite wheel built here, and the sdists built there.
#
#   bash tools/gpu_wheelhouse.sh OUT_DIR [PYTHON_VERSION]   # default 3.12
#
# Then carry OUT_DIR to the GPU machine and run
#   bash tools/gpu_check.sh --wheels OUT_DIR
set -euo pipefail
out=${1:?usage: tools/gpu_wheelhouse.sh OUT_DIR [PYTHON_VERSION]}
pyver=${2:-3.12}
py=${PYTHON:-python3}
mkdir -p "$out/sdists"

# What a GPU machine with torch, numpy, scipy, opencv, matplotlib and pytest
# lacks (../shared/ENVIRONMENT.md); model-index provides the 'modelindex'
# module mmpretrain imports (the distribution named modelindex is empty).
packages=(
  mmengine==0.10.7 mmdet==3.3.0 mmpose==1.3.2 mmpretrain==1.2.0
  json-tricks munkres addict yapf termcolor terminaltables shapely
  pycocotools mat4py model-index ordered-set importlib_metadata zipp
  lazy-importer platformdirs tqdm
  # test-only
  entmax==1.3 sparsemax==0.1.9
)
"$py" -m pip download -q --no-deps --only-binary=:all: \
  --python-version "$pyver" --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any \
  -d "$out" "${packages[@]}"
# mmcv-lite 2.1.0 is an sdist only; built here it is a pure-Python wheel
"$py" -m pip wheel -q --no-deps --no-build-isolation -w "$out" mmcv-lite==2.1.0
# compiled against the GPU machine's numpy there (~15 s each)
"$py" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
  -d "$out/sdists" xtcocotools==1.14.3 exococotools==1.0.0
ls "$out" "$out/sdists"
du -sh "$out"
