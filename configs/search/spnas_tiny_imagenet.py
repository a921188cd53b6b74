# A few-minute CPU Single-Path search on Tiny-ImageNet-style data (64x64 photos):
#   mkdir -p data && ln -s /path/to/tiny-imagenet-10 data/tiny-imagenet-10
#   python tools/dataset/imagenet_subset.py data/tiny-imagenet-10/train \
#       --out data/tiny-imagenet-10-search --train-frac 0.1 --val-frac 0.05 --seed 0
#   python tools/search.py configs/search/spnas_tiny_imagenet.py
# -> work_dirs/spnas_tiny_imagenet/architecture.json (and report/README.md), which
#    configs/ssdlite_spnas_coco.py takes as model.backbone.arch (add model.backbone.width_mult=1.0
#    to train it at full width).
# The reference's recipe at a small scale: the supernet at width 0.5, 64 px crops, batch 16,
# 4 epochs of which 1 is warm-up, FLOPs as the runtime; 1.5-4.5 minutes on one CPU thread.
# The thresholds learn at 250x the weights' rate (1.0): they start about 9 below the kernel
# norms and would not get there in 96 steps at the reference's rate (a deliberate deviation,
# see docs/). It checks the path (search, derivation, report, detector), not the search quality.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/spnas_supernet_imagenet.py',
    '../_base_/datasets/tiny_imagenet_search.py',
    '../_base_/schedules/spnas_imagenet.py',
]

num_classes = 10
model = dict(space=dict(
    model=dict(num_classes=num_classes, backbone=dict(width_mult=0.5)),
    arch=dict(warmup_epochs=1),
    # FLOPs instead of the Pixel 1 table (no latency_table, device or batch)
    cost=dict(_delete_=True, runtime_lambda=0.02, runtime_scale=1e3, metric='flops', input_size=64,
              num_classes=num_classes)))
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, arch_dataloader=None)  # one level: the weight split alone
optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.004)),  # 4x the reference's 0.016 per 256 images: 4 short epochs
    paramwise_cfg=dict(custom_keys={'arch.thresholds': dict(lr_mult=250.)}))
param_scheduler = dict(weights=[
    dict(type='StaircaseExponentialLR', period=2.4, gamma=0.97, by_epoch=True,
         convert_to_iter_based=True, begin=0, end=max_epochs)])
auto_scale_lr = dict(base_batch_size=16)
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=10))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
