#!/usr/bin/env bash
# The own-data path on the raccoon photographs (Pascal VOC, 200 images, 1 class), as a user runs it,
# then the comparison against chance (benchmarks/README.md, "Search against chance on detection").
#
#   bash benchmarks/raccoon/run.sh /path/to/raccoon [WORKERS]     # from the repository root
#
# /path/to/raccoon holds images/ and annotations/ (VOC xml). Steps, each resumable (run it again
# after a kill: finished searches and trainings are kept):
#   1. VOC -> COCO, then held-out splits: test 20% of the images, val 20% (of the rest, 25%),
#      train the remaining 60%; the search halves train into weight / architecture images.
#   2. tools/search_select.py benchmarks/raccoon/search_raccoon.py: 4 searches, each short-trained
#      (6 epochs) in benchmarks/raccoon/ssd_raccoon.py, the best by validation mAP kept.
#   3. tools/against_chance.py: the selected cell and PC_DARTS_image against 5 uniform random cells and
#      5 random cells matched to the selected one in MACs (10%), 2 training seeds each, test mAP.
#   4. the same with a third seed for the selected and the published cell.
set -euo pipefail
SRC=${1:?usage: bash benchmarks/raccoon/run.sh /path/to/raccoon [WORKERS]}
WORKERS=${2:-2}
PY=${PYTHON:-.venv/bin/python}
D=data/raccoon
W=work_dirs/raccoon

if [ ! -f $D/search/val.json ]; then
  mkdir -p $D/annotations
  ln -sfn "$(cd "$SRC" && pwd)/images" $D/images
  $PY tools/dataset/voc_to_coco.py "$SRC/annotations" --img-dir $D/images --out $D/annotations/all.json
  $PY tools/dataset/coco_split.py $D/annotations/all.json --out $D/split_test --train-frac 0.8 --val-frac 0.2 --seed 0
  $PY tools/dataset/coco_split.py $D/split_test/train.json --out $D/split_val --train-frac 0.75 --val-frac 0.25 --seed 0
  cp $D/split_val/train.json $D/annotations/train.json
  cp $D/split_val/val.json $D/annotations/val.json
  cp $D/split_test/val.json $D/annotations/test.json
  $PY tools/dataset/coco_split.py $D/annotations/train.json --out $D/search --train-frac 0.5 --val-frac 0.5 --seed 0
fi

$PY tools/search_select.py benchmarks/raccoon/search_raccoon.py --work-dir $W/select \
  --cfg-options selection.workers="$WORKERS"

$PY tools/against_chance.py benchmarks/raccoon/ssd_raccoon.py --work-dir $W/chance \
  --candidate selected=$W/select/genotype.json --candidate PC_DARTS_image \
  --random 5 --matched 5 --match-to selected --seeds 0 1 --workers "$WORKERS"
