#!/usr/bin/env bash
# Distributed testing:  bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args]
# (see _dist_launch.sh for multi-node variables)
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "$0")/_dist_launch.sh" test.py "$NPROC" "$CONFIG" "$CHECKPOINT" "$@"
