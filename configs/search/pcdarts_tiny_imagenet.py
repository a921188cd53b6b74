# A small PC-DARTS search that finishes in minutes on a CPU, on Tiny-ImageNet-style
# data (64x64 photos, ImageNet folder layout):
#   mkdir -p data && ln -s /path/to/tiny-imagenet-10 data/tiny-imagenet-10
#   python tools/dataset/imagenet_subset.py data/tiny-imagenet-10/train \
#       --out data/tiny-imagenet-10-search --train-frac 0.1 --val-frac 0.05 --seed 0
#   python tools/search.py configs/search/pcdarts_tiny_imagenet.py
# The result is work_dirs/pcdarts_tiny_imagenet/genotype.json.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_supernet_imagenet.py',
    '../_base_/datasets/tiny_imagenet_search.py',
    '../_base_/schedules/pcdarts_imagenet.py',
]

# For one's own images (this file and pcdarts_demo.py, which inherits it), not the papers':
# P-DARTS' cap of two skips in the derived normal cell. On a few hundred images a short search
# barely moves alpha (docs/search_quality.md); no searched cell here had more than two skips, so
# the cap only guards longer searches against the skip collapse. pcdarts_demo.py, a short search
# on crops, also adds a FLOPs term; it is not set here because over this search's 96
# architecture steps on tiny-imagenet-10 it turned the cells to pools and skips only, below
# chance (benchmarks/README.md, section 8).
model = dict(space=dict(model=dict(num_classes=10, backbone=dict(C=8, layers=5)),
                        arch=dict(max_skips=2)))

# PC-DARTS' ImageNet schedule at this scale: 4 epochs, alpha/beta frozen for the first, SGD 0.05 for
# a batch of 16 with cosine to 0 and no warm-up.
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=1)
optim_wrapper = dict(weights=dict(optimizer=dict(lr=0.05)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(logger=dict(interval=10))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
