#!/usr/bin/env bash
# Shared launcher of dist_train.sh / dist_test.sh:
#   _dist_launch.sh SCRIPT NPROC [SCRIPT args...]
# runs tools/SCRIPT on NPROC local processes through torch.distributed.run
# with --launcher pytorch (gloo on CPU through probpose_ext.compat.dist, nccl
# on GPU). Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT as for
# torchrun; PYTHON picks the interpreter (default: python).
set -euo pipefail
SCRIPT=$1
NPROC=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$HERE/$SCRIPT" "$@" --launcher pytorch
