# The data of the network-level search's short trainings: the cell search's two ImageNet-format
# splits (tools/dataset/imagenet_subset.py), the weight split to train each candidate on and the
# architecture split to measure its top-1 on (centre crop, no augmentation).
# A child points them elsewhere by overriding the datasets, e.g.
#   train_dataloader = dict(dataset=dict(data_prefix=..., ann_file=...))
train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
val_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='ResizeShortestEdge', scale=256, backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ImageNetDataset', data_prefix='data/imagenet/train/',
                 ann_file='data/imagenet_search/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNetDataset', data_prefix='data/imagenet/train/',
                 ann_file='data/imagenet_search/val.txt', pipeline=val_pipeline))
