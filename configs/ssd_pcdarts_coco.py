# SSD300 on COCO with the PC-DARTS (ImageNet-searched) backbone, as in the
# PC-DARTS paper's detection experiment: mmdet's SSD300 recipe (data pipeline,
# 120-epoch schedule, SGD) with VGG16 replaced by the genotype-built network
# (C=48, 14 cells; its stride 8/16/32 stages feed the SSD neck).
#
#   python tools/train.py configs/ssd_pcdarts_coco.py
#   python tools/test.py configs/ssd_pcdarts_coco.py work_dirs/ssd_pcdarts_coco/epoch_24.pth
#
# Without edits to this file:
#   - another genotype: a search result or any published name (DARTS_V2, ...)
#       --cfg-options model.backbone.genotype=work_dirs/<search>/genotype.json
#   - an ImageNet-trained trunk: a checkpoint of configs/cls_*.py, whose model
#     keeps the trunk in `self.backbone`, so the prefix maps its keys here
#       --cfg-options model.backbone.init_cfg.type=Pretrained \
#                     model.backbone.init_cfg.checkpoint=work_dirs/<cls>/epoch_250.pth \
#                     model.backbone.init_cfg.prefix=backbone.
#     Without one the trunk starts from scratch (the paper used an ImageNet-
#     trained one; none was released).
#   - COCO is read from data/coco/ (mmdet's layout: annotations/instances_{train,val}2017.json,
#     train2017/, val2017/). Link it there, or override the derived fields:
#       train_dataloader.dataset.dataset.data_root=... val_dataloader.dataset.data_root=...
#       test_dataloader.dataset.data_root=... val_evaluator.ann_file=... test_evaluator.ann_file=...
_base_ = 'mmdet::ssd/ssd300_coco.py'

custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'
# persistent_workers follows num_workers (nas_backbones/engine/runner.py); also
# found by mmdet's own tools/train.py and tools/test.py.
runner_type = 'NASRunner'

input_size = 300
# Backbone stages 1-3 (strides 8/16/32; 38, 19, 10 at 300 px) plus three
# extra levels (5, 3, 1): the six SSD300 maps.
backbone_channels = (192, 384, 768)
neck_channels = backbone_channels + (512, 256, 256)

model = dict(
    # ImageNet statistics (the VGG base used caffe's std=1).
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_size_divisor=1),
    backbone=dict(
        _delete_=True,
        type='DartsBackbone',
        genotype='PC_DARTS_image',  # a published name, or the path of a search's genotype.json
        C=48,
        layers=14,
        stem='imagenet',
        out_indices=(1, 2, 3),
        drop_path_prob=0.),  # no init_cfg key, so that --cfg-options can add one (see above)
    neck=dict(
        in_channels=backbone_channels,
        out_channels=neck_channels,
        level_strides=(2, 2, 1),
        level_paddings=(1, 1, 0),
        # The L2Norm rescales VGG's unnormalised conv4_3; this trunk ends in BN.
        # The extra levels stay as in SSD300 (no BN: it would fail on the 1x1
        # level with one image per GPU).
        l2_norm_scale=None),
    bbox_head=dict(
        in_channels=neck_channels,
        anchor_generator=dict(
            input_size=input_size,
            strides=[8, 16, 32, 64, 100, 300],
            ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])))

# mmdet's CocoDataset plus checks that name the file, field, image or box at fault when the
# dataset is built (nas_backbones/datasets/coco.py); otherwise the same.
train_dataloader = dict(dataset=dict(dataset=dict(type='CheckedCocoDataset')))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = val_dataloader
