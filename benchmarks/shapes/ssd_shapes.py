# The detector of the shapes benchmark (benchmarks/shapes/run.sh): configs/templates/ssd_own_coco.py
# as a user fills it in for the generated shapes (3 classes), at the size of configs/ssd_pcdarts_demo.py
# (C=16, 8 cells, 192 px, from scratch; its neck and anchors) and the raccoon benchmark's detector.
# Two changes below the EDIT block: the demo's training pipeline (resize + flip, no SSD300 expand /
# crop / colour distortion) -- the colour distortion shifts the hue that tells the classes apart, and
# the two others double a CPU training's time -- and no dataloader worker processes (num_workers=0, as
# the demo), since tools/against_chance.py already runs trainings in parallel; and AdamW instead of
# SGD: from scratch on these 256 images SGD's trainings of one cell ended far apart by their seed
# (0.11-0.63 test mAP at lr 0.05 or 0.02, 16 to 48 epochs), AdamW's 0.41 and 0.43 (benchmarks/README.md,
# 11b), so the table compares cells rather than seeds. Paths: from the repo root.
_base_ = '../../configs/ssd_pcdarts_coco.py'

# ------------------------------------------------------------------------------------ EDIT
data_root = 'data/shapes/'                  # ends with '/'
classes = ('circle', 'square', 'triangle')  # the json "categories" names, in label order
train_ann, train_images = 'annotations/instances_train.json', 'train/'
val_ann, val_images = 'annotations/instances_val.json', 'val/'
test_ann, test_images = 'test_set/annotations/instances_val.json', 'test_set/val/'  # another seed
genotype = 'PC_DARTS_image'   # or a search result: 'work_dirs/<search>/genotype.json'
C, layers = 16, 8              # backbone width and depth (48 and 14: the paper's ImageNet network)
batch_size = 8
max_epochs = 24                # about 3 minutes a training on one core (benchmarks/README.md, 11b)
lr = 0.001                    # AdamW (below), for batch_size images per step
# ------------------------------------------------------------------------------------------

input_size = 192
metainfo = dict(classes=classes)
backbone_channels = (4 * C, 8 * C, 16 * C)  # 4 nodes x C, 2C, 4C at strides 8, 16, 32
neck_channels = backbone_channels + (128, 128, 128)
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]  # ImageNet statistics

model = dict(
    data_preprocessor=dict(mean=mean, std=std, bgr_to_rgb=True),
    backbone=dict(genotype=genotype, C=C, layers=layers),
    # 192 px -> backbone maps 24, 12, 6, extra levels 3, 2, 1 (as configs/ssd_pcdarts_demo.py)
    neck=dict(in_channels=backbone_channels, out_channels=neck_channels, level_strides=(2, 2, 2),
              level_paddings=(1, 1, 1), norm_cfg=dict(type='BN')),
    bbox_head=dict(in_channels=neck_channels, num_classes=len(classes),
                   anchor_generator=dict(input_size=input_size, strides=[8, 16, 32, 64, 96, 192],
                                         min_sizes=[13, 29, 63, 98, 132, 167],
                                         max_sizes=[29, 63, 98, 132, 167, 203])))

train_pipeline = [  # configs/ssd_pcdarts_demo.py's (see the top of this file)
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
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
train_dataloader = dict(batch_size=batch_size, num_workers=0,
                        dataset=_split(train_ann, train_images, False, train_pipeline))
val_dataloader = dict(batch_size=batch_size, num_workers=0,
                      dataset=_split(val_ann, val_images, True, test_pipeline))
test_dataloader = dict(batch_size=batch_size, num_workers=0,
                       dataset=_split(test_ann, test_images, True, test_pipeline))
val_evaluator = dict(ann_file=data_root + val_ann)
test_evaluator = dict(ann_file=data_root + test_ann)

# From scratch (no ImageNet-trained trunk; see configs/ssd_pcdarts_coco.py for one): warm-up, cosine.
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=lr, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=lr / 500),
]
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs // 2, max_keep_ckpts=2))
randomness = dict(seed=0)
