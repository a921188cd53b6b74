#!/usr/bin/env bash
# Multi-GPU testing with torchrun, as MMDetection's tools/dist_test.sh:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options]
# Same environment variables as tools/dist_train.sh (NNODES, NODE_RANK, MASTER_ADDR, PORT, PYTHON).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options]" >&2
  exit 2
fi
TOOL=test.py exec bash "$(dirname "$0")/dist_train.sh" "$1" "$3" "$2" "${@:4}"
