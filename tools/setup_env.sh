#!/usr/bin/env bash
# One-command set-up of a fresh machine: a virtual environment at $NAS_VENV
# (default .venv) with torch 2.13.0 (CPU), mmcv 2.1.0 built from source,
# mmengine 0.10.7, mmdet 3.3.0, optuna 5.0.0, pycocotools and this package (editable) with its
# test extras: pytest (with pytest-xdist), ruff, onnx and onnxruntime, tensorboard, psycopg2-binary.
# PostgreSQL's server programs (for its test) are a system package: .ci/run installs them.
# Running it again is quick: finished steps are detected and skipped, and pip
# reuses the mmcv wheel it cached on the first build.
# docs/stack.md says why each pin is what it is.
#
#   bash tools/setup_env.sh            # CPU
#   bash tools/setup_env.sh --cuda     # GPU machine (or NAS_CUDA=1): torch 2.13.0 with CUDA and
#                                      # mmcv built with its CUDA ops (MMCV_WITH_OPS=1 FORCE_CUDA=1)
# For --cuda: the CUDA toolkit (nvcc) of torch's CUDA major version, on PATH or in $CUDA_HOME;
# NAS_TORCH_INDEX=URL takes torch from that index (e.g. https://download.pytorch.org/whl/cu128)
# instead of the default one; TORCH_CUDA_ARCH_LIST (e.g. "9.0" for H100/H200) builds mmcv's
# kernels for that GPU only, which is much quicker than for every architecture.
set -euo pipefail

CUDA=${NAS_CUDA:-0}
for arg in "$@"; do
  case "$arg" in
    --cuda) CUDA=1 ;;
    --cpu) CUDA=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) printf 'setup_env: unknown option %s (usage: bash tools/setup_env.sh [--cuda])\n' "$arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${NAS_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

die() { printf 'setup_env: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
  || die "no '$PYTHON' found. Install Python 3.11 (with pip and venv) or set PYTHON=/path/to/python3.11."
[ "$pyver" = "3.11" ] || die "Python 3.11 is required (torch 2.13.0 CPU wheel and mmcv 2.1.0 are built for it); '$PYTHON' is $pyver. Set PYTHON=/path/to/python3.11."

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create $VENV: install the venv module (Debian: apt-get install python3-venv)."
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

have() { "$PY" - "$@" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split('==')
    if version(name).split('+')[0] != want:
        sys.exit(1)
PYEOF
}

torch_cuda() { "$PY" -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)' 2>/dev/null; }

# torch first and pinned: a plain 'torch' would pull a multi-GB CUDA build.
if [ "$CUDA" = 1 ]; then
  if ! have torch==2.13.0 || ! torch_cuda; then
    step "installing torch 2.13.0 with CUDA (several GB with its CUDA libraries) and build tools"
    if have torch==2.13.0; then "$PY" -m pip uninstall -y -q torch; fi  # the CPU build
    INDEX=()
    [ -n "${NAS_TORCH_INDEX:-}" ] && INDEX=(--index-url "$NAS_TORCH_INDEX" --extra-index-url https://pypi.org/simple)
    "${PIP[@]}" ${INDEX[@]+"${INDEX[@]}"} 'torch==2.13.0' 'setuptools>=77.0.3,<82' wheel ninja
    torch_cuda || die "pip installed a CPU build of torch 2.13.0 (a local CPU wheel on pip's find-links, or an index that serves CPU builds). Set NAS_TORCH_INDEX to an index of CUDA builds (e.g. https://download.pytorch.org/whl/cu128) and run again."
  fi
  NVCC=$(command -v nvcc || true)
  [ -z "$NVCC" ] && [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] && NVCC=$CUDA_HOME/bin/nvcc
  [ -n "$NVCC" ] || die "--cuda builds mmcv's CUDA ops with nvcc, which is neither on PATH nor in \$CUDA_HOME/bin. Install the CUDA toolkit of torch's CUDA version ($("$PY" -c 'import torch; print(torch.version.cuda)')) and set CUDA_HOME."
  export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}
elif ! have torch==2.13.0; then
  step "installing torch 2.13.0 (CPU) and build tools"
  "${PIP[@]}" 'torch==2.13.0' 'setuptools>=77.0.3,<82' wheel ninja
fi

"$PY" -c 'import setuptools, sys; v=tuple(int(x) for x in setuptools.__version__.split(".")[:2]); sys.exit(0 if (77,0)<=v<(82,0) else 1)' \
  || "${PIP[@]}" 'setuptools>=77.0.3,<82'

mmcv_cuda() { "$PY" -c 'import sys; from mmcv.ops import get_compiling_cuda_version as v; sys.exit(0 if v() != "not available" else 1)' 2>/dev/null; }

if [ "$CUDA" = 1 ]; then
  if ! have mmcv==2.1.0 || ! "$PY" -c 'import mmcv._ext' 2>/dev/null || ! mmcv_cuda; then
    step "building mmcv 2.1.0 from source with its CUDA ops (tens of minutes; TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-all})"
    if have mmcv==2.1.0; then "$PY" -m pip uninstall -y -q mmcv; fi  # a CPU-ops build
    # --no-cache-dir: pip's cache may hold a wheel built with the CPU ops only, under the same name
    MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 FORCE_CUDA=1 \
      "${PIP[@]}" --no-build-isolation --no-cache-dir 'mmcv==2.1.0' \
      || die "the mmcv 2.1.0 CUDA build failed. It needs gcc/g++, the Python headers, nvcc ($NVCC) of torch's CUDA major version, torch already installed and setuptools<82. Fix that and run this script again."
    mmcv_cuda || die "mmcv installed without its CUDA ops; remove it ('$PY -m pip uninstall -y mmcv') and run this script again."
  fi
elif ! have mmcv==2.1.0 || ! "$PY" -c 'import mmcv._ext' 2>/dev/null; then
  step "building mmcv 2.1.0 from source (about 14 minutes on 2 cores; cached for next time)"
  MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 FORCE_CUDA=0 \
    "${PIP[@]}" --no-build-isolation 'mmcv==2.1.0' \
    || die "the mmcv 2.1.0 build failed. It needs gcc/g++ and the Python headers (Debian: apt-get install build-essential python3-dev), torch already installed, and setuptools<82. Fix that and run this script again."
  "$PY" -c 'import mmcv._ext' || die "mmcv installed without its compiled ops (mmcv._ext); remove it ('$PY -m pip uninstall -y mmcv') and run this script again."
fi

step "installing mmengine, mmdet, optuna, pycocotools, nas_backbones (editable) and its test extras"
"${PIP[@]}" 'torch==2.13.0' 'setuptools>=77.0.3,<82' 'mmengine==0.10.7' 'mmdet==3.3.0' 'mmcv==2.1.0' \
  'optuna==5.0.0' pycocotools
# [tests]: pytest, pytest-xdist, ruff (the linter tests/test_lint.py runs) and the optional parts the tests cover (onnx, onnxruntime,
# tensorboard, psycopg2-binary; setup.py's extras). The pins above stay: nothing here needs others.
"${PIP[@]}" --no-build-isolation -e "$ROOT[tests]" 'torch==2.13.0' 'mmengine==0.10.7' 'mmdet==3.3.0' \
  'mmcv==2.1.0' 'optuna==5.0.0'

"$PY" -c 'import torch, mmcv, mmdet, mmengine, mmcv.ops, nas_backbones; print("ok: torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__)' \
  || die "the environment in $VENV does not import; see the error above."
if [ "$CUDA" = 1 ]; then
  "$PY" -c 'import torch; from mmcv.ops import get_compiling_cuda_version as v; print("CUDA: torch", torch.version.cuda, "| mmcv ops", v(), "| GPU visible:", torch.cuda.is_available())'
  printf 'GPU benchmark (under 8 minutes): bash benchmarks/gpu.sh\n'
fi
printf '\nReady. Run the tests with: %s -m pytest\n' "$VENV/bin/python"
