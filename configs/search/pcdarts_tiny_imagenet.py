# A small PC-DARTS search that finishes in minutes on a CPU, on Tiny-ImageNet-style
# data (64x64 photos, ImageNet folder layout):
#   mkdir -p data && ln -s /path/to/tiny-imagenet-10 data/tiny-imagenet-10
#   python tools/dataset/imagenet_subset.py data/tiny-imagenet-10/train \
#       --out data/tiny-imagenet-10-search --train-frac 0.1 --val-frac 0.05 --seed 0
#   python tools/search.py configs/search/pcdarts_tiny_imagenet.py
# The result is work_dirs/pcdarts_tiny_imagenet/genotype.json.
_base_ = './pcdarts_imagenet.py'

crop_size = 64
batch_size = 16
max_epochs = 4

# The defaults for one's own images (this file and pcdarts_demo.py, which inherits it), not the
# papers': on a few hundred images a short search barely moves alpha, and the longer it runs the
# more it drifts toward all-convolution cells, which train worse on little data
# (docs/search_quality.md). A FLOPs term (the expected multiply-adds of the cell, relative to uniform
# alpha) pulls toward cheaper cells, and P-DARTS' cap keeps at most two skips in the normal cell
# so that the pull cannot end in a skip collapse. The benchmark: benchmarks/README.md, section 6.
# The pull adds up with the architecture steps: it helped an 18-step crop search and turned a
# 96-step search on tiny-imagenet-10 to pools and skips only. For longer searches lower the weight
# (about 0.1 * 18 / architecture steps) or set cost=None.
model = dict(architecture=dict(supernet=dict(num_classes=10, C=8, layers=5),
                               cost=dict(weight=0.1, input_size=crop_size),
                               max_skips=2))

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(data_prefix='data/tiny-imagenet-10/train/', pipeline=train_pipeline)
train_dataloader = dict(batch_size=batch_size, num_workers=0,
                        dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/train.txt'))
train_cfg = dict(
    max_epochs=max_epochs, arch_warmup_epochs=1,
    arch_dataloader=dict(batch_size=batch_size, num_workers=0,
                         dataset=dict(_dataset, ann_file='data/tiny-imagenet-10-search/val.txt')))
optim_wrapper = dict(weights=dict(optimizer=dict(lr=0.05)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=10))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
