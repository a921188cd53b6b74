# The two search splits of an ImageNet-format data set (PC-DARTS: 10% and 2.5% of each class of
# the train set, sampled by tools/dataset/imagenet_subset.py), both with the train augmentation at
# 224 px. The architecture split is the search loop's (train_cfg.arch_dataloader), so the loop is
# declared here; the config sets its epochs (train_cfg.max_epochs, arch_warmup_epochs).
# A child points them elsewhere by overriding the datasets themselves, e.g.
#   train_dataloader = dict(dataset=dict(data_prefix=..., ann_file=...))
#   train_cfg = dict(arch_dataloader=dict(dataset=dict(data_prefix=..., ann_file=...)))
# (not these variables: MMEngine resolves them when it parses this file).
train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(type='ImageNetDataset', data_prefix='data/imagenet/train/', pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=128, num_workers=8, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='data/imagenet_search/train.txt'))
train_cfg = dict(
    type='SearchLoop',
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=128, num_workers=8, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/imagenet_search/val.txt')))
