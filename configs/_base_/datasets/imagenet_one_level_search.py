# Single-Path NAS' one-level search data: the whole ImageNet train set with the reference's
# augmentation (bicubic RandomResizedCrop at 224 px), batch 128 per GPU (8 x 128 = 1024, the
# reference's total). No architecture split: the weights and the thresholds learn together.
train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=224, interpolation='bicubic'),  # the reference's
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(  # the whole train set; its position is resumed mid-epoch
    batch_size=128, num_workers=8, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='ImageNetDataset', data_prefix='data/imagenet/train/',
                 pipeline=train_pipeline))
train_cfg = dict(type='SearchLoop', arch_dataloader=None)  # one level; the config sets max_epochs
