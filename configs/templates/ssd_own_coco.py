# TEMPLATE: SSD with a searched (or published) cell on your own COCO-format detection data.
#
# 1. Copy this file (e.g. to configs/templates/ssd_my_data.py; elsewhere, fix the `_base_` path)
#    and edit the block marked EDIT. Everything below it is derived from those values, in this
#    file, so editing them is enough (a child config overriding `data_root` or `classes` would
#    NOT reach the dataloaders below: MMEngine resolves them when this file is parsed).
# 2. Train (validates at the end), then test a checkpoint:
#       python tools/train.py configs/templates/ssd_my_data.py
#       python tools/test.py configs/templates/ssd_my_data.py work_dirs/ssd_my_data/epoch_24.pth
#    MMDetection's own tools/train.py and tools/test.py take the same file.
#
# The three annotation files are COCO json (VOC xml: tools/dataset/voc_to_coco.py). Fields that
# must agree, each set here from one value:
#   - classes: the "categories" names of the json files, in label order; they become
#     metainfo.classes of the three datasets and model.bbox_head.num_classes = len(classes);
#   - the backbone width C and the neck/head channels (4C, 8C, 16C for its stride 8/16/32 stages;
#     NASRunner stops at build time, naming the field, if they disagree);
#   - the 300 px input and SSD300's anchors (another size needs other anchor strides and sizes:
#     see configs/ssd_pcdarts_demo.py for 192 px).
_base_ = '../ssd_pcdarts_coco.py'

# ------------------------------------------------------------------------------------ EDIT
data_root = 'data/my_detection/'                 # ends with '/'
classes = ('class_a', 'class_b', 'class_c')      # the json "categories" names, in label order
train_ann, train_images = 'annotations/train.json', 'images/'
val_ann, val_images = 'annotations/val.json', 'images/'
test_ann, test_images = 'annotations/test.json', 'images/'
genotype = 'PC_DARTS_image'   # or a search result: 'work_dirs/<search>/genotype.json'
C, layers = 48, 14            # backbone width and depth (48 and 14: the paper's ImageNet network)
batch_size = 8
max_epochs = 24
lr = 0.05                     # SGD, for batch_size images per step (--auto-scale-lr rescales it)
# ------------------------------------------------------------------------------------------

input_size = 300
metainfo = dict(classes=classes)
backbone_channels = (4 * C, 8 * C, 16 * C)  # 4 nodes x C, 2C, 4C at strides 8, 16, 32
neck_channels = backbone_channels + (512, 256, 256)
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]  # ImageNet statistics

model = dict(
    data_preprocessor=dict(mean=mean, std=std, bgr_to_rgb=True),
    backbone=dict(genotype=genotype, C=C, layers=layers),
    neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels, num_classes=len(classes)))

train_pipeline = [  # MMDetection's SSD300 augmentation
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=mean, to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]


def _split(ann, images, test_mode, pipeline):  # noqa: E302  (a parse-time helper, not a config key)
    return dict(_delete_=True, type='CheckedCocoDataset', data_root=data_root, metainfo=metainfo,
                ann_file=ann, data_prefix=dict(img=images), test_mode=test_mode, pipeline=pipeline,
                **({} if test_mode else dict(filter_cfg=dict(filter_empty_gt=True, min_size=8))))


# CheckedCocoDataset: names an empty or bad json, a missing image (with its json) and boxes past
# their image (clipped, said once) when the dataset is built -- before training starts.
train_dataloader = dict(batch_size=batch_size, num_workers=2,
                        dataset=_split(train_ann, train_images, False, train_pipeline))
val_dataloader = dict(batch_size=batch_size, num_workers=2,
                      dataset=_split(val_ann, val_images, True, test_pipeline))
test_dataloader = dict(batch_size=batch_size, num_workers=2,
                       dataset=_split(test_ann, test_images, True, test_pipeline))
val_evaluator = dict(ann_file=data_root + val_ann)
test_evaluator = dict(ann_file=data_root + test_ann)

# From scratch (no ImageNet-trained trunk; see configs/ssd_pcdarts_coco.py for one): warm-up, cosine.
# On a few hundred images, check that two training seeds agree before comparing cells: on the generated
# shapes SGD's trainings of one cell ended 0.11 to 0.63 mAP apart by seed, AdamW's (lr 1e-3, weight decay
# 0.05) agreed (benchmarks/shapes/ssd_shapes.py, benchmarks/README.md 11b).
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4),
                     clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=lr / 500),
]
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs // 2, max_keep_ckpts=2))
randomness = dict(seed=0)
