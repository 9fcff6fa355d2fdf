#!/usr/bin/env bash
# GPU check of probpose_ext on a machine with CUDA (make gpu-check):
#   1. the test suite's CUDA tests, plus every test not marked slow, on the GPU
#      machine's own torch / numpy;
#   2. configs/probpose_vit-s_coco.py trained 20 iterations on the COCO sample,
#      in fp32 and with --amp: finite losses, every ProbPose prediction field;
#   3. the benchmarks (benchmarks/run.py) with the GPU present.
#
#   bash tools/gpu_check.sh [--wheels DIR] [--out DIR] [--no-bench] [--allow-cpu]
#
# --allow-cpu rehearses the script on a machine without CUDA (the CUDA tests
# are then skipped).
# It uses the Python it finds (PYTHON, default python3) and its torch, whatever
# the version. Where that Python lacks the OpenMMLab stack, --wheels DIR (made
# by tools/gpu_wheelhouse.sh on a machine with PyPI) is installed into
# OUT/site without an index and put on PYTHONPATH; nothing else is touched.
# Writes OUT/summary.md (default OUT: work_dirs/gpu_check) and exits non-zero
# if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py=${PYTHON:-python3}
wheels=''
out=work_dirs/gpu_check
bench=1
allow_cpu=0
while [ $# -gt 0 ]; do
  case $1 in
    --wheels) wheels=$(cd "$2" && pwd); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-bench) bench=0; shift ;;
    --allow-cpu) allow_cpu=1; shift ;;
    *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ $allow_cpu -eq 0 ] && \
    ! "$py" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "gpu_check: $py has no CUDA device (torch.cuda.is_available() is False)" >&2
  exit 2
fi

stack_ok() {
  "$py" -c 'import mmengine, mmcv, mmdet, mmpose, mmpretrain, xtcocotools' \
    >/dev/null 2>&1
}
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
if ! stack_ok; then
  if [ -z "$wheels" ]; then
    echo "gpu_check: the OpenMMLab stack is not importable with $py; make a" \
      "wheelhouse with tools/gpu_wheelhouse.sh and pass --wheels DIR" >&2
    exit 2
  fi
  site=$out/site
  echo "== installing the stack from $wheels into $site"
  "$py" -m pip install -q --no-index --no-deps --target "$site" "$wheels"/*.whl
  for sdist in "$wheels"/sdists/*.tar.gz; do
    "$py" -m pip install -q --no-index --no-deps --no-build-isolation \
      --target "$site" "$sdist"
  done
  export PYTHONPATH="$site:$PYTHONPATH"
  stack_ok || { echo "gpu_check: the stack still does not import" >&2; exit 2; }
fi
if [ -n "$wheels" ] && [ -f "$wheels/sdists/exococotools-1.0.0.tar.gz" ]; then
  export PROBPOSE_EXO_SDIST="$wheels/sdists/exococotools-1.0.0.tar.gz"
fi
export PYTHONWARNINGS=ignore

declare -a results
step() {  # step NAME COMMAND...: run, log to OUT/NAME.log, record the status
  local name=$1; shift
  echo "== $name"
  local start=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local rc=$?
  tail -n 3 "$out/$name.log"
  results+=("| $name | $([ $rc -eq 0 ] && echo pass || echo "FAIL ($rc)") | $((SECONDS - start)) s |")
  return 0
}

"$py" - <<'EOF' | tee "$out/environment.txt"
import platform

import mmengine
import mmpose
import numpy
import torch

gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
print(f'python {platform.python_version()}, torch {torch.__version__} '
      f'(CUDA {torch.version.cuda}), numpy {numpy.__version__}, mmpose '
      f'{mmpose.__version__}, mmengine {mmengine.__version__}, GPU {gpu}')
EOF

step tests "$py" -m pytest -q -p no:cacheprovider -m 'cuda or not slow' tests
cfg=tests/data/configs/probpose_vit-s_coco_tiny.py
# 12 people, batch 6: 2 iterations an epoch, 10 epochs = 20 iterations
iters=(--cfg-options train_cfg.max_epochs=10 train_cfg.val_interval=10)
modes=(fp32 amp)
if ! "$py" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  modes=(fp32)  # MMEngine's AmpOptimWrapper needs a GPU (--allow-cpu)
  results+=("| train_amp, predict_amp | skipped (no CUDA) | 0 s |")
fi
for mode in "${modes[@]}"; do
  amp=(); [ "$mode" = amp ] && amp=(--amp)
  step "train_$mode" "$py" tools/train.py "$cfg" --work-dir "$out/$mode" \
    "${amp[@]}" "${iters[@]}"
  step "predict_$mode" "$py" tools/test.py "$cfg" "$out/$mode/epoch_10.pth" \
    --work-dir "$out/$mode/test" --dump "$out/$mode/preds.pkl"
done
step verify "$py" tools/_gpu_check_verify.py "${modes[@]/#/$out/}" --iters 20
if [ $bench -eq 1 ]; then
  step bench "$py" benchmarks/run.py --out "$out/bench"
fi

{
  echo "# GPU check ($(date -u +%Y-%m-%d))"
  echo
  cat "$out/environment.txt"
  echo
  echo '| step | result | time |'
  echo '|---|---|---|'
  printf '%s\n' "${results[@]}"
  [ -f "$out/verify.log" ] && { echo; cat "$out/verify.log"; }
  [ -f "$out/bench/results.md" ] && { echo; cat "$out/bench/results.md"; }
} >"$out/summary.md"
echo
cat "$out/summary.md"
! printf '%s\n' "${results[@]}" | grep -q FAIL
