# Single-Path NAS search on ImageNet (the reference's recipe): the 22-layer MobileNetV2-style
# supernet (every searchable layer a 5x5 e6 superkernel, thresholds at 0), one level: one
# TF-style RMSProp (decay 0.9, momentum 0.9, epsilon 1e-3) over the weights and the
# thresholds together, lr 0.016 x batch / 256 = 0.064 at 1024, x0.97 every 2.4 epochs;
# batch 1024 (8 x 128), 8 epochs (the reference's 10,008 steps) on the whole train set at
# 224 px. Loss: CE with label smoothing 0.1 + 1e-5 L2 (in the loss, thresholds included) +
# lambda * 1e3 * ln(R); during a 5-epoch warm-up (6,255 steps) lambda is 0 and each indicator
# is dropped with p = 0.4, afterwards lambda = 0.020 (the reference's README run).
#
#   bash tools/dist_search.sh configs/search/spnas_imagenet.py 8
#   -> work_dirs/spnas_imagenet/architecture.json, search_history.json, report/README.md
#
# R is the reference's: the Pixel 1 latency table the paper optimised (TFLite, one thread, the
# per-layer costs of the four variants plus a 19.5999 ms constant for the fixed parts), shipped
# as the named table 'pixel1'; lambda = 0.020 was tuned for it. For your own hardware, time
# the table on the deployment device and bring it along (what is missing is measured where
# the search runs, on runtime.device):
#   python tools/analysis/latency_table.py configs/search/spnas_imagenet.py --out spnas_lat.json
#   --cfg-options model.architecture.runtime.latency_table=spnas_lat.json model.architecture.runtime.device=cpu
# Multiply-adds instead: --cfg-options model.architecture.runtime.metric=flops
# The reference also keeps an EMA of the weights (0.9999); add, if wanted,
#   dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=1e-4) to custom_hooks.
_base_ = ['../_base_/search_runtime.py']

crop_size = 224
max_epochs = 8
warmup_epochs = 5
batch_size = 128  # per GPU: 8 x 128 = 1024, the reference's total
total_batch = 8 * batch_size

model = dict(
    type='DifferentiableSearch',
    unrolled=False,
    architecture=dict(
        type='SinglePathSpace',
        supernet=dict(num_classes=1000, width_mult=1.0, dropout=0.2),
        runtime=dict(metric='latency', input_size=crop_size, batch=1, latency_table='pixel1'),
        runtime_lambda=0.02,
        runtime_scale=1e3,
        label_smoothing=0.1,
        weight_decay=1e-5,
        warmup_epochs=warmup_epochs,
        keep_prob=0.6),
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=crop_size, interpolation='bicubic'),  # the reference's
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(  # the whole train set; its position is resumed mid-epoch
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='ImageNetDataset', data_prefix='data/imagenet/train/',
                 pipeline=train_pipeline))
train_cfg = dict(type='SearchLoop', max_epochs=max_epochs, arch_dataloader=None)  # one level

# One wrapper over the whole space, weights and thresholds; the L2 term is in the loss.
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='RMSpropTF', lr=0.016 * total_batch / 256, alpha=0.9,
                                momentum=0.9, eps=1e-3, weight_decay=0.)))
param_scheduler = dict(weights=[
    dict(type='StaircaseExponentialLR', period=2.4, gamma=0.97, by_epoch=True,
         convert_to_iter_based=True, begin=0, end=max_epochs)])
auto_scale_lr = dict(enable=False, base_batch_size=total_batch)  # --auto-scale-lr for other totals
randomness = dict(seed=0)
