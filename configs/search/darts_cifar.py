# DARTS (first order) as the K=1 special case: every op sees all channels, no edge
# normalization, alpha updated from the first step; SGD 0.025 with cosine to 1e-3, Adam 3e-4,
# batch 64, on the same data as pcdarts_cifar.py.
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_supernet_cifar.py',
    '../_base_/datasets/small_images_search.py',
    '../_base_/schedules/darts_cifar.py',
]
model = dict(space=dict(model=dict(backbone=dict(partial_k=1)), arch=dict(edge_norm=False)))
train_dataloader = dict(batch_size=64)  # DARTS' batch, in both splits
train_cfg = dict(max_epochs=50, arch_warmup_epochs=0, arch_dataloader=dict(batch_size=64))
