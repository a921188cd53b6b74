# The two search splits of Tiny-ImageNet-10 (64x64 photos, ImageNet folder layout), sampled by
#   python tools/dataset/imagenet_subset.py data/tiny-imagenet-10/train \
#       --out data/tiny-imagenet-10-search --train-frac 0.1 --val-frac 0.05 --seed 0
# both with the train augmentation at 64 px, batch 16, in the main process (CPU runs).
# The architecture split is the search loop's (train_cfg.arch_dataloader), so the loop is declared
# here; the config sets its epochs. A one-level search (Single-Path NAS) sets
# train_cfg.arch_dataloader=None and trains on the weight split alone.
train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(type='ImageNetDataset', data_prefix='data/tiny-imagenet-10/train/', pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=16, num_workers=0, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/train.txt'))
train_cfg = dict(
    type='SearchLoop',
    arch_dataloader=dict(  # the architecture split; its position is resumed mid-pass
        batch_size=16, num_workers=0, persistent_workers=True,
        sampler=dict(type='ResumableSampler', shuffle=True),
        dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/val.txt')))
