# TEMPLATE: a cell searched inside SSD on your own COCO-format detection data, several times, and the
# best of the searches kept by a short training in your detector (the DARTS paper's selection).
#
# 1. Split the TRAINING images in two disjoint halves, one for the weights and one for alpha/beta
#    (keep your val and test images out of it):
#       python tools/dataset/coco_split.py data/my_detection/annotations/train.json \
#           --out data/my_detection_search --train-frac 0.5 --val-frac 0.5 --seed 0
# 2. Copy configs/templates/ssd_own_coco.py (e.g. to configs/templates/ssd_my_data.py) and edit its
#    EDIT block for the same data: it is the detector the searched cells are trained in.
# 3. Copy this file (e.g. to configs/templates/search_my_data.py; elsewhere, fix `_base_`), edit
#    the block marked EDIT -- everything below it is derived from it here -- then:
#       python tools/search_select.py configs/templates/search_my_data.py
#    It runs one search per seed of `search_seeds` (work_dirs/search_my_data/search_seed<s>/),
#    short-trains each result in `detector` on its training split, scores it by the validation
#    metric, and writes work_dirs/search_my_data/selection.json and the chosen genotype.json.
#    Running it again resumes: finished searches and trainings are not run again.
# 4. Train the chosen cell in full, and compare it against chance on the test split:
#       python tools/against_chance.py configs/templates/ssd_my_data.py \
#           --candidate selected=work_dirs/search_my_data/genotype.json --candidate PC_DARTS_image \
#           --random 5 --matched 5 --match-to selected --seeds 0 1 2 --random-seeds 0 1
#
# Fields that must agree: classes = the json's "categories" names, in label order (as in the
# detector template); the search network's widths (C) set the neck channels below (4C, 8C, 16C).
# The search runs at 192 px (the anchors below are for that size; see configs/ssd_pcdarts_demo.py).
# How many architecture steps: (weight-split images / batch_size) x (max_epochs - arch_warmup_epochs).
# Searches of tens of steps do not move alpha far from uniform (docs/search_quality.md): aim at hundreds.
_base_ = '../search/pcdarts_ssd_coco128.py'

# ------------------------------------------------------------------------------------ EDIT
data_root = 'data/my_detection/'                 # ends with '/'
classes = ('class_a', 'class_b', 'class_c')      # the json "categories" names, in label order
train_images = 'images/'                         # the training images' folder, under data_root
search_split = 'data/my_detection_search/'       # coco_split.py's --out: train.json (weights), val.json (alpha/beta)
detector = 'configs/templates/ssd_my_data.py'    # the detector the results are short-trained in (step 2)
search_seeds = [0, 1, 2, 3]                      # one search each; DARTS kept the best of 4
short_epochs = 6                                 # the short training's epochs, in `detector`
C, layers = 8, 5                                 # search network width and depth
batch_size = 8
max_epochs = 30                                  # search epochs in all ...
arch_warmup_epochs = 15                          # ... of which the first ones train the weights only
workers = 1                                      # searches / short trainings at once (one process each)
# ------------------------------------------------------------------------------------------

backbone_channels = (4 * C, 8 * C, 16 * C)
neck_channels = backbone_channels + (128, 128, 128)
metainfo = dict(classes=classes)
model = dict(space=dict(detector=dict(
    backbone=dict(C=C, layers=layers),
    neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels, num_classes=len(classes)))))

_dataset = dict(data_prefix=dict(img=data_root + train_images), metainfo=metainfo)
train_dataloader = dict(batch_size=batch_size, dataset=dict(_dataset, ann_file=search_split + 'train.json'))
train_cfg = dict(
    max_epochs=max_epochs, arch_warmup_epochs=arch_warmup_epochs,
    arch_dataloader=dict(batch_size=batch_size, dataset=dict(_dataset, ann_file=search_split + 'val.json')))
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
auto_scale_lr = dict(base_batch_size=batch_size)

# Read by tools/search_select.py (the search itself ignores it).
selection = dict(
    seeds=search_seeds,
    detector=detector,
    # The short schedule, as --cfg-options of the detector: its epochs, the cosine's end with
    # them (ssd_own_coco.py's param_scheduler[1]), a validation and a checkpoint at the end.
    options={'train_cfg.max_epochs': short_epochs, 'train_cfg.val_interval': short_epochs,
             'param_scheduler.1.end': short_epochs, 'default_hooks.checkpoint.interval': 1},
    train_seeds=[0],              # short trainings per search (the score is their mean)
    metric='coco/bbox_mAP',       # on the detector's validation split
    workers=workers)
