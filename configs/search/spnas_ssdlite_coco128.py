# Single-Path NAS searched inside SSDLite on coco128, on the detector's own loss: the Single-Path
# supernet's trunk (the reference's 22-layer table, every searchable layer a 5x5 e6 superkernel,
# thresholds at 0) is SSDLite's backbone, tapped where configs/ssdlite_spnas_coco.py taps the
# derived network (stage 4, stride 16, and the head conv). One level, as Single-Path NAS: one
# optimizer over the detector's weights and the thresholds together, on SSDLite's loss plus
# lambda * 1e3 * ln R (R: the trunk's multiply-adds at 320 px); during a one-epoch warm-up lambda
# is 0 and each indicator is dropped with p = 0.4. A few minutes on a CPU at width 0.5: it checks
# the path (data, SSDLite's loss, thresholds, derivation, checkpoints), not a result.
#   mkdir -p data && ln -s /path/to/coco128 data/coco128
#   python tools/search.py configs/search/spnas_ssdlite_coco128.py
# The result, work_dirs/spnas_ssdlite_coco128/architecture.json, trains as any other architecture
# (at full width, as SSDLite's neck and head expect 96 and 1280 channels):
#   python tools/train.py configs/ssdlite_spnas_coco128.py \
#       --cfg-options model.backbone.arch=work_dirs/spnas_ssdlite_coco128/architecture.json \
#                     model.backbone.width_mult=1.0
_base_ = '../_base_/runtime/search.py'
# + SearchCocoDataset, imported on its own (mmdet's datasets pull in matplotlib)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook'], allow_failed_imports=False)

input_size = 320
width_mult = 0.5
max_epochs = 4
warmup_epochs = 1
batch_size = 8
data_root = 'data/coco128/'

# SSDLite's BN (mmdet's ssdlite_mobilenetv2 recipe) in the trunk, neck and head.
norm_cfg = dict(type='BN', eps=0.001, momentum=0.03)
# stage 4 (block 4, stride 16) and the head conv at width 0.5: 48 and 640 channels
backbone_channels = (48, 640)
neck_channels = backbone_channels + (512, 256, 256, 128)
model = dict(
    type='DifferentiableSearch',
    unrolled=False,  # one level: the algorithm takes one step on the loss and the cost together
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=1),
    space=dict(
        type='DetectorSearchSpace',
        arch=dict(warmup_epochs=warmup_epochs, keep_prob=0.6),
        cost=dict(runtime_lambda=0.02, runtime_scale=1e3, metric='flops', input_size=input_size),
        detector=dict(
            type='SingleStageDetector',
            backbone=dict(type='SinglePathSearchBackbone', width_mult=width_mult,
                          out_indices=(4, 7), norm_cfg=norm_cfg),
            neck=dict(
                type='SSDNeck', in_channels=backbone_channels, out_channels=neck_channels,
                level_strides=(2, 2, 2, 2), level_paddings=(1, 1, 1, 1), l2_norm_scale=None,
                use_depthwise=True, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU6'),
                init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
            bbox_head=dict(
                type='SSDHead', in_channels=neck_channels, num_classes=80, use_depthwise=True,
                norm_cfg=norm_cfg, act_cfg=dict(type='ReLU6'),
                init_cfg=dict(type='Normal', layer='Conv2d', std=0.001),
                anchor_generator=dict(
                    type='SSDAnchorGenerator', scale_major=False, input_size=input_size,
                    strides=[16, 32, 64, 107, 160, 320], ratios=[[2, 3]] * 6,
                    min_sizes=[48, 100, 150, 202, 253, 304],
                    max_sizes=[100, 150, 202, 253, 304, 320]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                target_stds=[0.1, 0.1, 0.2, 0.2])),
            train_cfg=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                              min_pos_iou=0., ignore_iof_thr=-1, gt_max_assign_all=False),
                sampler=dict(type='PseudoSampler'),
                smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3, debug=False),
            test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45),
                          min_bbox_size=0, score_thr=0.02, max_per_img=200))))

# No expand/crop/colour augmentation: a short search on 128 images.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# One level: one loader over all of coco128, no architecture split.
train_dataloader = dict(
    batch_size=batch_size, num_workers=0,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='SearchCocoDataset', data_root=data_root,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline,
                 filter_cfg=dict(filter_empty_gt=True, min_size=8)))
train_cfg = dict(type='SearchLoop', max_epochs=max_epochs, arch_dataloader=None)

# SSDLite's SGD over everything; the thresholds at 67x its rate (1.0), as spnas_tiny_imagenet.py
# raises theirs: they start far below the kernel norms and a short search would not reach them.
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=4e-5),
                 clip_grad=dict(max_norm=10.)),
    paramwise_cfg=dict(custom_keys={'arch.thresholds': dict(lr_mult=67.)}))
param_scheduler = dict(weights=[
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
         begin=0, end=max_epochs)])
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=4))
log_processor = dict(window_size=4)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
