# TEMPLATE: SSDLite with a Single-Path NAS backbone on your own COCO-format detection data.
#
# The light detector: MMDetection's SSDLite recipe (320 px, depthwise neck and head) with a
# Single-Path NAS network as its backbone (configs/ssdlite_spnas_coco.py). For SSD300 with a
# PC-DARTS cell, see ssd_own_coco.py beside this file.
#
# 1. Copy this file (e.g. to configs/templates/ssdlite_my_data.py; elsewhere, fix the `_base_`
#    path) and edit the block marked EDIT. Everything below it is derived from those values, in
#    this file, so editing them is enough (a child config overriding `data_root` or `classes`
#    would NOT reach the dataloaders below: MMEngine resolves them when this file is parsed).
# 2. Train (validates every val_interval epochs), then test a checkpoint:
#       python tools/train.py configs/templates/ssdlite_my_data.py
#       python tools/test.py configs/templates/ssdlite_my_data.py work_dirs/ssdlite_my_data/epoch_120.pth
#    MMDetection's own tools/train.py and tools/test.py take the same file.
#
# The three annotation files are COCO json (VOC xml: tools/dataset/voc_to_coco.py). Fields that
# must agree, each set here from one value:
#   - classes: the "categories" names of the json files, in label order; they become
#     metainfo.classes of the three datasets and model.bbox_head.num_classes = len(classes);
#   - backbone_channels: the channels of the two tapped stages (stride 16 and the head conv) of
#     `arch` at `width_mult`: (96, 1280) for SPNAS_Pixel1 and for every searched architecture at
#     width 1. For another width, NASRunner stops at build time and names the values to set;
#   - the 320 px input and SSDLite's anchors (both from the base).
_base_ = '../ssdlite_spnas_coco.py'

# ------------------------------------------------------------------------------------ EDIT
data_root = 'data/my_detection/'                 # ends with '/'
classes = ('class_a', 'class_b', 'class_c')      # the json "categories" names, in label order
train_ann, train_images = 'annotations/train.json', 'images/'
val_ann, val_images = 'annotations/val.json', 'images/'
test_ann, test_images = 'annotations/test.json', 'images/'
arch = 'SPNAS_Pixel1'         # or a search result: 'work_dirs/<search>/architecture.json'
width_mult = 1.0
backbone_channels = (96, 1280)
batch_size = 24
max_epochs = 120
val_interval = 10
lr = 0.015                    # SGD, for batch_size images per step (--auto-scale-lr rescales it)
# ------------------------------------------------------------------------------------------

metainfo = dict(classes=classes)
neck_channels = backbone_channels + (512, 256, 256, 128)

model = dict(
    backbone=dict(arch=arch, width_mult=width_mult),
    neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels, num_classes=len(classes)))


def _split(ann, images, test_mode, pipeline):  # noqa: E302  (a parse-time helper, not a config key)
    return dict(_delete_=True, type='CheckedCocoDataset', data_root=data_root, metainfo=metainfo,
                ann_file=ann, data_prefix=dict(img=images), test_mode=test_mode, pipeline=pipeline,
                **({} if test_mode else dict(filter_cfg=dict(filter_empty_gt=True, min_size=8))))


# The base's 320 px pipelines (MMDetection's SSDLite augmentation). CheckedCocoDataset names an
# empty or bad json, a missing image (with its json) and boxes past their image (clipped, said
# once) when the dataset is built -- before training starts.
# drop_last: SSDLite's neck ends in 1x1 maps with BatchNorm, which fails on a last batch of one image.
train_dataloader = dict(batch_size=batch_size, num_workers=2, drop_last=True,
                        dataset=_split(train_ann, train_images, False, {{_base_.train_pipeline}}))
val_dataloader = dict(batch_size=batch_size, num_workers=2,
                      dataset=_split(val_ann, val_images, True, {{_base_.test_pipeline}}))
test_dataloader = dict(batch_size=batch_size, num_workers=2,
                       dataset=_split(test_ann, test_images, True, {{_base_.test_pipeline}}))
val_evaluator = dict(ann_file=data_root + val_ann)
test_evaluator = dict(ann_file=data_root + test_ann)

# The base's schedule (warm-up, cosine to 0) over max_epochs; no RepeatDataset (times=5 on COCO).
train_cfg = dict(max_epochs=max_epochs, val_interval=val_interval)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=max_epochs, end=max_epochs, eta_min=0),
]
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=val_interval, max_keep_ckpts=2))
randomness = dict(seed=0)
