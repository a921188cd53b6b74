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
# widths. The schedule is ours, not a paper's: no published recipe searches PC-DARTS cells on a
# detection loss. SSD300's optimizer (SGD 2e-3 for a total batch of 64, 500-iteration warm-up),
# cosine to 0 over 24 epochs, alpha/beta frozen for the first 12, then Adam 6e-3 (PC-DARTS').
# Memory: model.architecture.detector.backbone.with_cp=True recomputes every cell in backward
# (benchmarks/README.md, "Detection search"); model.unrolled=True is second order.
_base_ = '../_base_/search_runtime.py'
# + SearchCocoDataset, imported on its own (mmdet's datasets pull in matplotlib)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook'], allow_failed_imports=False)

input_size = 300
data_root = 'data/coco/'
max_epochs = 24
batch_size = 8  # per GPU, in each split: 64 in all on 8 GPUs, as SSD300

backbone_channels = (64, 128, 256)  # 4 nodes x C, 2C, 4C (C=16)
neck_channels = backbone_channels + (512, 256, 256)  # the extra levels of ssd_pcdarts_coco.py
model = dict(
    type='DifferentiableSearch',
    unrolled=False,  # PC-DARTS searches with the first-order approximation
    # The search preprocesses each batch once, for both steps (the detector has none of its own).
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=1),
    architecture=dict(
        type='DetectorSearchSpace',
        arch=dict(edge_norm=True),
        # cost=dict(weight=0.1, input_size=input_size): expected FLOPs of the cells in the arch loss
        detector=dict(
            type='SingleStageDetector',
            backbone=dict(
                type='PCDartsSearchBackbone', C=16, layers=8, steps=4, multiplier=4,
                stem='imagenet', stem_multiplier=3, partial_k=2, out_indices=(1, 2, 3),
                recompute=False,  # True: stem + 1x1 preprocessing recomputed in backward
                with_cp=False),   # True: every cell recomputed in backward
            neck=dict(
                type='SSDNeck',
                in_channels=backbone_channels,
                out_channels=neck_channels,
                level_strides=(2, 2, 1),
                level_paddings=(1, 1, 0),
                l2_norm_scale=None),  # the trunk ends in BN (see ssd_pcdarts_coco.py)
            bbox_head=dict(
                type='SSDHead',
                in_channels=neck_channels,
                num_classes=80,
                anchor_generator=dict(
                    type='SSDAnchorGenerator',
                    scale_major=False,
                    input_size=input_size,
                    basesize_ratio_range=(0.15, 0.9),
                    strides=[8, 16, 32, 64, 100, 300],
                    ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                target_stds=[0.1, 0.1, 0.2, 0.2])),
            train_cfg=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                              min_pos_iou=0., ignore_iof_thr=-1, gt_max_assign_all=False),
                sampler=dict(type='PseudoSampler'),
                smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3, debug=False),
            test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45),
                          min_bbox_size=0, score_thr=0.02, max_per_img=200))))

# mmdet's SSD300 augmentation.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='PackDetInputs')
]
# SearchCocoDataset: CocoDataset with each sample's augmentation seeded by ResumableSampler,
# so a resumed search (mid-epoch, with worker processes) draws the same crops.
_dataset = dict(type='SearchCocoDataset', data_prefix=dict(img=data_root + 'train2017/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=batch_size, num_workers=4, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='data/coco_search/train.json'))
train_cfg = dict(
    type='SearchLoop', max_epochs=max_epochs, arch_warmup_epochs=max_epochs // 2,
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=batch_size, num_workers=4, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/coco_search/val.json')))

optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=2e-3, momentum=0.9, weight_decay=5e-4),
                 clip_grad=dict(max_norm=10.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3),
              clip_grad=dict(max_norm=5.)))
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
auto_scale_lr = dict(enable=False, base_batch_size=64)
