#!/usr/bin/env bash
# Multi-GPU testing with torchrun, as MMDetection's tools/dist_test.sh:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT. PYTHON picks the interpreter.
# (mmengine 0.10.7's pytorch launcher calls torch.cuda.set_device: GPUs only.)
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options]" >&2
  exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
