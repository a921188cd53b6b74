# PC-DARTS' CIFAR recipe for a user's own small images in ImageNet format: K=4, CIFAR stem,
# 32x32, batch 256, SGD 0.1 with cosine to 0, Adam 6e-4, alpha frozen for 15 of 50 epochs.
# Normalised with CIFAR-10's mean/std, as the reference; set data_preprocessor for other data.
# Point it at your data with --cfg-options, e.g.
#   train_dataloader.dataset.ann_file=... train_cfg.arch_dataloader.dataset.ann_file=...
#   model.space.model.num_classes=N
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_supernet_cifar.py',
    '../_base_/datasets/small_images_search.py',
    '../_base_/schedules/pcdarts_cifar.py',
]
train_cfg = dict(max_epochs=50, arch_warmup_epochs=15)  # the schedule's 50 epochs; alpha frozen for 15
