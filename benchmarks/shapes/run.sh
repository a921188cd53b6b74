#!/usr/bin/env bash
# The own-data path on the generated shapes (tools/dataset/make_synthetic_coco.py, 3 classes), as a
# user runs it, then the comparison against chance (benchmarks/README.md, "11b. ... on the generated
# shapes").
#
#   bash benchmarks/shapes/run.sh [WORKERS]     # from the repository root; WORKERS: 2 (at most 2)
#   VARIANT=nocost bash benchmarks/shapes/run.sh 2   # + step 4
#
# Steps, each resumable (run it again after a kill: finished searches and trainings are kept):
#   1. data: train 256 / val 64 images of generator seed 0 (data/shapes), and a held-out test set of
#      128 images of generator seed 1 (data/shapes/test_set, its "val" split), which no search and no
#      selection sees; the search halves train into 128 weight / 128 architecture images.
#   2. tools/search_select.py benchmarks/shapes/search_shapes.py: the template's 4 searches (240
#      architecture steps each), each short-trained (12 epochs) in benchmarks/shapes/ssd_shapes.py
#      (24 epochs in full), the best by validation mAP kept.
#   3. tools/against_chance.py: the selected cell and PC_DARTS_image with training seeds 0 1 2, 5
#      uniform random cells and 5 random cells within 10% of the selected cell's MACs with seeds 0 1,
#      and the three searches' cells the selection did not keep with seeds 0 1 2 (is what the search
#      finds better than a random cell, whichever search is kept?); test mAP; WORK_DIR/chance/chance.md.
#   4. with VARIANT=nocost: the same 4 searches without the FLOPs term (search_shapes_nocost.py, in
#      WORK_DIR/select_nocost, with the selection's short trainings and choice), all four cells added
#      to the table of step 3 with seeds 0 1 2.
set -euo pipefail
WORKERS=${1:-2}
PY=${PYTHON:-.venv/bin/python}
D=data/shapes
W=work_dirs/shapes

if [ ! -f $D/search/val.json ]; then
  $PY tools/dataset/make_synthetic_coco.py $D --num-train 256 --num-val 64 --seed 0
  $PY tools/dataset/make_synthetic_coco.py $D/test_set --num-train 1 --num-val 128 --seed 1
  $PY tools/dataset/coco_split.py $D/annotations/instances_train.json --out $D/search \
    --train-frac 0.5 --val-frac 0.5 --seed 0
fi

echo "== $(date -u +%H:%M:%S) step 2: search_select"
$PY tools/search_select.py benchmarks/shapes/search_shapes.py --work-dir $W/select \
  --cfg-options selection.workers="$WORKERS"

echo "== $(date -u +%H:%M:%S) step 3: against chance"
# the searches the selection did not keep, as candidates of their own
KEPT=$($PY -c "import json; print(json.load(open('$W/select/selection.json'))['chosen']['seed'])")
SEARCHED=()
for s in 0 1 2 3; do
  [ "$s" = "$KEPT" ] || SEARCHED+=(--candidate "search$s=$W/select/search_seed$s/genotype.json")
done
CHANCE=(--candidate selected=$W/select/genotype.json --candidate PC_DARTS_image "${SEARCHED[@]}"
        --random 5 --matched 5 --match-to selected --seeds 0 1 2 --random-seeds 0 1 --workers "$WORKERS")
$PY tools/against_chance.py benchmarks/shapes/ssd_shapes.py --work-dir $W/chance "${CHANCE[@]}"

if [ "${VARIANT:-}" = nocost ]; then
  echo "== $(date -u +%H:%M:%S) step 4: the searches without the FLOPs term"
  $PY tools/search_select.py benchmarks/shapes/search_shapes_nocost.py --work-dir $W/select_nocost \
    --cfg-options selection.workers="$WORKERS"
  NOCOST=()
  for s in 0 1 2 3; do NOCOST+=(--candidate "nocost$s=$W/select_nocost/search_seed$s/genotype.json"); done
  $PY tools/against_chance.py benchmarks/shapes/ssd_shapes.py --work-dir $W/chance "${CHANCE[@]}" "${NOCOST[@]}"
fi
echo "== $(date -u +%H:%M:%S) done: $W/chance/chance.md"
