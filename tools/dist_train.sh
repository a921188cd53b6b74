#!/usr/bin/env bash
# Multi-GPU training with torchrun, as MMDetection's tools/dist_train.sh:
#   tools/dist_train.sh CONFIG GPUS [tools/train.py options]   (TOOL=search.py: tools/dist_search.sh)
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT. PYTHON picks the interpreter.
# Without CUDA the tools start a gloo process group themselves.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG GPUS [train.py options]" >&2
  exit 2
fi
CONFIG=$1
GPUS=$2
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
    "$(dirname "$0")/${TOOL:-train.py}" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
