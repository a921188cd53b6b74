#!/usr/bin/env bash
# The own-data path on the generated shapes (tools/dataset/make_synthetic_coco.py, 3 classes), as a
# user runs it, then the comparison against chance, with two search variants beside it
# (benchmarks/README.md, "11b. ... on the generated shapes").
#
#   bash benchmarks/shapes/run.sh [WORKERS]     # from the repository root; WORKERS: 2 (at most 2)
#
# Steps, each resumable (run it again after a kill: finished searches and trainings are kept):
#   1. data: train 256 / val 64 images of generator seed 0 (data/shapes), and a held-out test set of
#      128 images of generator seed 1 (data/shapes/test_set, its "val" split), which no search and no
#      selection sees; the search halves train into 128 weight / 128 architecture images.
#   2. tools/search_select.py benchmarks/shapes/search_shapes.py: 2 searches (160 architecture steps
#      each), each short-trained (6 epochs) in benchmarks/shapes/ssd_shapes.py (16 epochs in full),
#      the better by validation mAP kept.
#   3. the long search (benchmarks/shapes/search_shapes_long.py: 240 architecture steps, each on the
#      mean gradient of 2 batches, the FLOPs weight normalised by the step count), then the same
#      warm-started from a crop search's trunk (search_shapes_crops.py on object crops of the training
#      images, then search_shapes_warm.py), one process, while the against-chance tool trains the other
#      candidates in one process; when the searches end that trainer is stopped (a stopped training
#      resumes from its last checkpoint) and step 4 goes on with WORKERS processes.
#   4. tools/against_chance.py: 5 uniform random cells and 5 random cells within 10% of the selected
#      cell's MACs (seeds 0 1), then selected, PC_DARTS_image, long and warm and the random cells with
#      seeds 0 1 2 (what is done is kept), test mAP; WORK_DIR/chance/chance.md is the table.
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

CHANCE=($PY tools/against_chance.py benchmarks/shapes/ssd_shapes.py --work-dir $W/chance)
# search NAME: the search of benchmarks/shapes/search_shapes_NAME.py in $W/NAME (resumed if killed;
# $W/NAME/done once it has ended: its genotype.json is rewritten every epoch until then).
search() {
  [ -f $W/$1/done ] && return 0
  mkdir -p $W/$1
  $PY tools/search.py benchmarks/shapes/search_shapes_$1.py --work-dir $W/$1 --resume > $W/$1.out 2>&1 \
    && touch $W/$1/done
}
if [ ! -f $W/long/done ] || [ ! -f $W/warm/done ]; then
  echo "== $(date -u +%H:%M:%S) step 3: the long and the warm-started search, beside the other trainings"
  (
    search long || echo "the long search failed: see $W/long.out"
    if [ ! -d data/shapes_crops_search ]; then
      $PY tools/dataset/export_crops.py $D/annotations/instances_train.json $D/train data/shapes_crops
      $PY tools/dataset/imagenet_subset.py data/shapes_crops --out data/shapes_crops_search \
        --train-frac 0.5 --val-frac 0.5 --seed 0
    fi
    search crops && search warm || echo "the warm-started search failed: see $W/crops.out, $W/warm.out"
  ) &
  SEARCHES=$!
  # The other candidates meanwhile, one at a time, in a process group of their own (stopped below:
  # a stopped training resumes from its last checkpoint).
  setsid bash -c "${CHANCE[*]} --candidate selected=$W/select/genotype.json --candidate PC_DARTS_image \
      --seeds 0 1 2 --workers 1; ${CHANCE[*]} --candidate selected=$W/select/genotype.json \
      --candidate PC_DARTS_image --random 5 --matched 5 --match-to selected --seeds 0 1 --workers 1" \
    > $W/beside_searches.out 2>&1 &
  BESIDE=$!
  wait $SEARCHES || true
  kill -TERM -- -$BESIDE 2>/dev/null || true
  wait $BESIDE 2>/dev/null || true
  sleep 5
fi
# The long and warm searches' cells, those that ended.
LONG_CAND=()
[ -f $W/long/done ] && LONG_CAND+=(--candidate long=$W/long/genotype.json)
[ -f $W/warm/done ] && LONG_CAND+=(--candidate warm=$W/warm/genotype.json)

echo "== $(date -u +%H:%M:%S) step 4: against chance"
"${CHANCE[@]}" --candidate selected=$W/select/genotype.json --candidate PC_DARTS_image \
  --random 5 --matched 5 --match-to selected --seeds 0 1 --workers "$WORKERS" || true
# then the long and warm cells and every candidate's third seed, and the table over all of them
"${CHANCE[@]}" --candidate selected=$W/select/genotype.json --candidate PC_DARTS_image "${LONG_CAND[@]}" \
  --random 5 --matched 5 --match-to selected --seeds 0 1 2 --workers "$WORKERS" || true
echo "== $(date -u +%H:%M:%S) done: $W/chance/chance.md"
