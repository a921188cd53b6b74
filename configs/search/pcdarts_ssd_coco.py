# PC-DARTS searched inside SSD300 on COCO, on the detector's own loss: the PC-DARTS ImageNet search
# network (C=16, 8 cells, K=2, edge normalization) is SSD's backbone; the weights (backbone, neck,
# head) learn on one half of train2017, alpha/beta on the other, both through SSD's loss.
#   python tools/dataset/coco_split.py data/coco/annotations/instances_train2017.json \
#       --out data/coco_search --train-frac 0.5 --val-frac 0.5 --seed 0
#   bash tools/dist_search.sh configs/search/pcdarts_ssd_coco.py 8
# The result, WORK_DIR/genotype.json, trains as any other cell:
#   bash tools/dist_train.sh configs/ssd_pcdarts_coco.py 8 \
#       --cfg-options model.backbone.genotype=work_dirs/pcdarts_ssd_coco/genotype.json
# The detector is configs/ssd_pcdarts_coco.py's (the backbone's stride 8/16/32 stages + three
# extra levels, 300 px, mmdet's SSD300 head, anchors and augmentation) with the search network's
# widths (_base_/models/pcdarts_ssd300.py). The schedule is ours, not a paper's: no published
# recipe searches PC-DARTS cells on a detection loss. SSD300's optimizer (SGD 2e-3 for a total
# batch of 64, 500-iteration warm-up), cosine to 0 over 24 epochs, alpha/beta frozen for the first
# 12, then Adam 6e-3 (PC-DARTS') (_base_/schedules/pcdarts_ssd.py).
# Memory: model.space.detector.backbone.with_cp=True recomputes every cell in backward
# (benchmarks/README.md, "Detection search"); model.unrolled=True is second order.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_ssd300.py',
    '../_base_/datasets/coco_search.py',
    '../_base_/schedules/pcdarts_ssd.py',
]
# + SearchCocoDataset, imported on its own (mmdet's datasets pull in matplotlib)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook'], allow_failed_imports=False)
train_cfg = dict(max_epochs=24, arch_warmup_epochs=12)  # the schedule's 24 epochs; alpha/beta frozen for 12
