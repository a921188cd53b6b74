# PC-DARTS search on ImageNet subsets: K=2, C=16, 8 cells, 50 epochs with alpha/beta frozen for
# the first 35, batch 1024 in total (8 x 128). Sample the subsets first (10% of each class for the
# weights, 2.5% for alpha):
#   python tools/dataset/imagenet_subset.py data/imagenet/train --out data/imagenet_search \
#       --train-frac 0.1 --val-frac 0.025 --seed 0
# then: bash tools/dist_search.sh configs/search/pcdarts_imagenet.py 8
# Deviations, on purpose (docs/faithfulness.md): the cosine schedule follows PyTorch >= 1.1
# (epoch e runs at lr_cos(e), the reference's pre-1.1 stepping ran it at lr_cos(e + 1)), and
# the 5-epoch warm-up multiplies the cosine value instead of replacing it.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_supernet_imagenet.py',
    '../_base_/datasets/imagenet_search.py',
    '../_base_/schedules/pcdarts_imagenet.py',
]
train_cfg = dict(max_epochs=50, arch_warmup_epochs=35)  # the schedule's 50 epochs; alpha/beta frozen for 35
