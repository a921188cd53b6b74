# The CPU-sized variant of darts_mobile_imagenet.py: tiny networks on Tiny-ImageNet-10 (64x64,
# 10 classes), 12 trials, two worker processes; a few minutes on two cores.
#   mkdir -p data && ln -s /path/to/tiny-imagenet-10 data/tiny-imagenet-10
#   python tools/dataset/imagenet_subset.py data/tiny-imagenet-10/train \
#       --out data/tiny-imagenet-10-search --train-frac 0.1 --val-frac 0.05 --seed 0
#   python tools/network_search.py configs/network_search/darts_tiny_cpu.py
_base_ = './darts_mobile_imagenet.py'

model = dict(backbone=dict(C=8, layers=5), num_classes=10)

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),
    dict(type='RandomResizedCrop', size=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
val_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='PackClsInputs'),
]
_dataset = dict(data_prefix='data/tiny-imagenet-10/train/')
train_dataloader = dict(batch_size=16, num_workers=0,
                        dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/train.txt',
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=50, num_workers=0,
                      dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/val.txt',
                                   pipeline=val_pipeline))

network_search = dict(
    space=dict(genotypes=['PC_DARTS_image', 'DARTS_V2'], C=[4, 8], stage_cells=[[1, 2], [0, 1], [0, 1]],
               input_size=[32, 64]),
    constraints=dict(macs=7e5),  # binds: these networks have 0.07-0.9M multiply-adds
    latency=dict(clock='cpu', rounds=2),  # two shared cores: the process's CPU time, not the neighbours'
    n_trials=12,
    sampler=dict(population_size=4),
    accuracy=dict(epochs=1, lr=0.05),
)
