# The two search splits of a user's own small images in ImageNet format (CIFAR-sized, 32x32),
# with the CIFAR recipe's augmentation, batch 256 (PC-DARTS'). The lists come from
# tools/dataset/imagenet_subset.py; point them at your data in the config or with --cfg-options:
#   train_dataloader.dataset.ann_file=... train_cfg.arch_dataloader.dataset.ann_file=...
# The architecture split is the search loop's (train_cfg.arch_dataloader), so the loop is declared
# here; the config sets its epochs (train_cfg.max_epochs, arch_warmup_epochs).
train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    # Resize to 40 then a random 32 crop stands in for the reference's
    # RandomCrop(32, padding=4) (mmcv/mmdet have no padded random crop).
    dict(type='Resize', scale=(40, 40), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(32, 32)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(type='ImageNetDataset', data_prefix='data/my_images/', pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=256, num_workers=4, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='data/my_images_search/train.txt'))
train_cfg = dict(
    type='SearchLoop',
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=256, num_workers=4, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/my_images_search/val.txt')))
