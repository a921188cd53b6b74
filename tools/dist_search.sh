#!/usr/bin/env bash
# Distributed search with torchrun, like MMDetection's dist_train.sh:
#   bash tools/dist_search.sh CONFIG NUM_PROCESSES [tools/search.py options]
# CPU-only machines: add --cfg-options env_cfg.dist_cfg.backend=gloo
TOOL=search.py exec bash "$(dirname "$0")/dist_train.sh" "$@"
