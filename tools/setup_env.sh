#!/usr/bin/env bash
# One-command set-up of a fresh machine: a virtual environment at $NAS_VENV
# (default .venv) with torch 2.13.0 (CPU), mmcv 2.1.0 built from source,
# mmengine 0.10.7, mmdet 3.3.0, optuna 5.0.0, pycocotools, pytest and this package (editable).
# Running it again is quick: finished steps are detected and skipped, and pip
# reuses the mmcv wheel it cached on the first build.
# docs/stack.md says why each pin is what it is.
set -euo pipefail

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

# torch first and pinned: a plain 'torch' would pull a multi-GB CUDA build.
if ! have torch==2.13.0; then
  step "installing torch 2.13.0 (CPU) and build tools"
  "${PIP[@]}" 'torch==2.13.0' 'setuptools>=77.0.3,<82' wheel ninja
fi

"$PY" -c 'import setuptools, sys; v=tuple(int(x) for x in setuptools.__version__.split(".")[:2]); sys.exit(0 if (77,0)<=v<(82,0) else 1)' \
  || "${PIP[@]}" 'setuptools>=77.0.3,<82'

if ! have mmcv==2.1.0 || ! "$PY" -c 'import mmcv._ext' 2>/dev/null; then
  step "building mmcv 2.1.0 from source (about 14 minutes on 2 cores; cached for next time)"
  MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 FORCE_CUDA=0 \
    "${PIP[@]}" --no-build-isolation 'mmcv==2.1.0' \
    || die "the mmcv 2.1.0 build failed. It needs gcc/g++ and the Python headers (Debian: apt-get install build-essential python3-dev), torch already installed, and setuptools<82. Fix that and run this script again."
  "$PY" -c 'import mmcv._ext' || die "mmcv installed without its compiled ops (mmcv._ext); remove it ('$PY -m pip uninstall -y mmcv') and run this script again."
fi

step "installing mmengine, mmdet, optuna, pycocotools, pytest and nas_backbones (editable)"
"${PIP[@]}" 'torch==2.13.0' 'setuptools>=77.0.3,<82' 'mmengine==0.10.7' 'mmdet==3.3.0' 'mmcv==2.1.0' \
  'optuna==5.0.0' pycocotools pytest
"${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT"

"$PY" -c 'import torch, mmcv, mmdet, mmengine, mmcv.ops, nas_backbones; print("ok: torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__)' \
  || die "the environment in $VENV does not import; see the error above."
printf '\nReady. Run the tests with: %s -m pytest\n' "$VENV/bin/python"
