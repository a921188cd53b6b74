#!/usr/bin/env bash
# Distributed search with torchrun, like MMDetection's dist_train.sh:
#   bash tools/dist_search.sh CONFIG NUM_PROCESSES [tools/search.py options]
# Without CUDA the tools start a gloo process group themselves.
TOOL=search.py exec bash "$(dirname "$0")/dist_train.sh" "$@"
