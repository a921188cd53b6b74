# The PC-DARTS ImageNet search network (C=16, 8 cells, K=2, edge normalization) as the backbone of
# SSD300, searched on the detector's own loss: configs/ssd_pcdarts_coco.py's detector (the
# backbone's stride 8/16/32 stages + three extra levels, 300 px, mmdet's SSD300 head and anchors)
# with the search network's widths, 80 classes.
# Memory: model.space.detector.backbone.with_cp=True recomputes every cell in backward
# (benchmarks/README.md, "Detection search"); model.unrolled=True is second order.
# The anchors are for 300 px: a config at another input size sets them (and its pipeline) too.
input_size = 300
backbone_channels = (64, 128, 256)  # 4 nodes x C, 2C, 4C (C=16)
neck_channels = backbone_channels + (512, 256, 256)  # the extra levels of ssd_pcdarts_coco.py
model = dict(
    type='DifferentiableSearch',
    unrolled=False,  # PC-DARTS searches with the first-order approximation
    # The search preprocesses each batch once, for both steps (the detector has none of its own).
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=1),
    space=dict(
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
