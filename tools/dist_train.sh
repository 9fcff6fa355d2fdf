#!/usr/bin/env bash
# Distributed training:  bash tools/dist_train.sh CONFIG NPROC [train.py args]
# (see _dist_launch.sh for multi-node variables)
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "$0")/_dist_launch.sh" train.py "$NPROC" "$CONFIG" "$@"
