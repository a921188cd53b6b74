# A few-minute CPU run of the whole SSD pipeline on generated data: a narrow,
# shallow PC-DARTS backbone (C=16, 8 cells) at 192 px, trained from scratch on
# coloured shapes, then evaluated by CocoMetric (the COCO mAP table at the end).
#
#   python tools/dataset/make_synthetic_coco.py          # -> data/synthetic_coco
#   python tools/train.py configs/ssd_pcdarts_demo.py    # trains, then validates
#   python tools/test.py configs/ssd_pcdarts_demo.py work_dirs/ssd_pcdarts_demo/epoch_24.pth
#
# Everything but the size of the network, the input, the schedule and BN in the
# neck's extra levels is ssd_pcdarts_coco.py's (same backbone, neck and head wiring).
_base_ = './ssd_pcdarts_coco.py'

data_root = 'data/synthetic_coco/'
metainfo = dict(classes=('circle', 'square', 'triangle'),
                palette=[(220, 20, 60), (0, 160, 0), (0, 60, 230)])
input_size = 192
# 192 px -> backbone maps 24, 12, 6 (strides 8/16/32), extra levels 3, 2, 1.
backbone_channels = (64, 128, 256)  # 4 nodes x C, 2C, 4C
neck_channels = backbone_channels + (128, 128, 128)

model = dict(
    backbone=dict(C=16, layers=8),
    neck=dict(
        in_channels=backbone_channels,
        out_channels=neck_channels,
        level_strides=(2, 2, 2),
        level_paddings=(1, 1, 1),
        # BN in the extra levels too, as mmdet's SSDLite does for a network
        # trained from scratch (it needs more than one image per batch: the
        # last level is 1x1).
        norm_cfg=dict(type='BN')),
    bbox_head=dict(
        in_channels=neck_channels,
        num_classes=len(metainfo['classes']),
        anchor_generator=dict(
            input_size=input_size,
            strides=[8, 16, 32, 64, 96, 192],
            # SSD300's COCO sizes (7%..87% of the input) scaled to 192 px;
            # the generator only derives them itself for 300 and 512.
            min_sizes=[13, 29, 63, 98, 132, 167],
            max_sizes=[29, 63, 98, 132, 167, 203])),
    test_cfg=dict(score_thr=0.05, max_per_img=50))

# No Expand / MinIoURandomCrop / PhotoMetricDistortion: they slow a CPU run
# and the shapes need no more variety in a few epochs.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# num_workers=0 with the inherited persistent_workers=True: NASRunner copes.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        _delete_=True,
        type='CheckedCocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-4)
]
default_hooks = dict(
    logger=dict(interval=8),
    checkpoint=dict(interval=max_epochs // 2, max_keep_ckpts=2))
log_processor = dict(window_size=8)
auto_scale_lr = dict(base_batch_size=8)
randomness = dict(seed=0)
