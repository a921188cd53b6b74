# The two search splits of coco128 (128 COCO train2017 images, one half each), sampled by
#   mkdir -p data && ln -s /path/to/coco128 data/coco128
#   python tools/dataset/coco_split.py data/coco128/annotations/instances_train2017.json \
#       --out data/coco128_search --train-frac 0.5 --val-frac 0.5 --seed 0
# at 192 px (the model's anchors must be for it) without expand/crop/colour augmentation, boxes of
# at least 8 px, batch 8, in the main process (CPU runs). The architecture split is the search
# loop's (train_cfg.arch_dataloader), so the loop is declared here; the config sets its epochs.
# SearchCocoDataset is imported by the config's own custom_imports (nas_backbones.datasets.coco).
# Another COCO-format set: override the datasets (data_prefix, ann_file, metainfo), not variables.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(192, 192), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# SearchCocoDataset: CocoDataset with each sample's augmentation seeded by ResumableSampler,
# so a resumed search (mid-epoch, with worker processes) draws the same samples.
_dataset = dict(type='SearchCocoDataset', data_prefix=dict(img='data/coco128/train2017/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=8), pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=8, num_workers=0, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='data/coco128_search/train.json'))
train_cfg = dict(
    type='SearchLoop',
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=8, num_workers=0, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/coco128_search/val.json')))
