# Single-Path NAS search on ImageNet (the reference's recipe; the bases say which part is where):
# the 22-layer MobileNetV2-style supernet (every searchable layer a 5x5 e6 superkernel, thresholds
# at 0), one level: one TF-style RMSProp (decay 0.9, momentum 0.9, epsilon 1e-3) over the weights
# and the thresholds together, lr 0.016 x batch / 256 = 0.064 at 1024, x0.97 every 2.4 epochs;
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
#   --cfg-options model.space.cost.latency_table=spnas_lat.json model.space.cost.device=cpu
# Multiply-adds instead: --cfg-options model.space.cost.metric=flops
# The reference also keeps an EMA of the weights (0.9999); add, if wanted,
#   dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=1e-4) to custom_hooks.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/spnas_supernet_imagenet.py',
    '../_base_/datasets/imagenet_one_level_search.py',
    '../_base_/schedules/spnas_imagenet.py',
]
train_cfg = dict(max_epochs=8)  # the schedule's 8 epochs; the first 5 (the model's warmup_epochs) warm up
randomness = dict(seed=0)
