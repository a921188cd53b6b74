# The search of the shapes benchmark (benchmarks/shapes/run.sh): configs/templates/search_own_coco.py
# as a user fills in its EDIT block for the generated shapes, every other value the template's: 4
# searches of 30 epochs of which 15 warm-up = 240 architecture steps (128 weight images / 8 a batch x
# 15). One value differs from the template (benchmarks/README.md, 11b): the short training is 12
# epochs, half the detector's 24 (the template's 6 is a quarter of its detector's 24): at 6 epochs from
# scratch every cell still scores near 0 val mAP here, which ranks nothing.
_base_ = '../../configs/search/pcdarts_ssd_coco128.py'

# ------------------------------------------------------------------------------------ EDIT
data_root = 'data/shapes/'                  # ends with '/'
classes = ('circle', 'square', 'triangle')  # the json "categories" names, in label order
train_images = 'train/'                          # the training images' folder, under data_root
search_split = 'data/shapes/search/'        # coco_split.py's --out: train.json (weights), val.json (alpha/beta)
detector = 'benchmarks/shapes/ssd_shapes.py'      # the detector the results are short-trained in (step 2)
search_seeds = [0, 1, 2, 3]                      # one search each; DARTS kept the best of 4
short_epochs = 12                                # the short training's epochs, in `detector`
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
