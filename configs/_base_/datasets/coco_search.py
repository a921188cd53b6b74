# The two search splits of COCO train2017 (one half each, sampled by
#   python tools/dataset/coco_split.py data/coco/annotations/instances_train2017.json \
#       --out data/coco_search --train-frac 0.5 --val-frac 0.5 --seed 0)
# with mmdet's SSD300 augmentation at 300 px (the model's anchors are for it), batch 8 per GPU in
# each split (64 in all on 8 GPUs, as SSD300). The architecture split is the search loop's
# (train_cfg.arch_dataloader), so the loop is declared here; the config sets its epochs.
# SearchCocoDataset is imported by the config's own custom_imports (nas_backbones.datasets.coco:
# mmdet's datasets pull in matplotlib).
data_root = 'data/coco/'
batch_size = 8
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
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
    type='SearchLoop',
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=batch_size, num_workers=4, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/coco_search/val.json')))
