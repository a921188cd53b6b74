#!/usr/bin/env bash
# The GPU benchmark, one command: bash benchmarks/gpu.sh [benchmarks/gpu.py options]
# Results (gpu.json, gpu.md) go to $OUT, or ./gpu_results, or --out DIR; under 8 minutes.
# Python: $NAS_PYTHON, else the set-up's .venv (tools/setup_env.sh --cuda), else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${NAS_PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
"$PY" -c 'import torch, mmdet, mmcv.ops' 2>/dev/null \
  || { echo "gpu.sh: $PY cannot import torch, mmdet and mmcv.ops: set up first (bash tools/setup_env.sh --cuda)" >&2; exit 1; }
export PYTHONUNBUFFERED=1
exec "$PY" benchmarks/gpu.py "$@"
