# DARTS (first order) as the K=1 special case: every op sees all channels, no edge
# normalization, alpha updated from the first step; SGD 0.025 with cosine to 1e-3, Adam 3e-4.
_base_ = './pcdarts_cifar.py'

batch_size = 64
max_epochs = 50
model = dict(architecture=dict(supernet=dict(partial_k=1), edge_norm=False))
train_dataloader = dict(batch_size=batch_size)
train_cfg = dict(arch_warmup_epochs=0, arch_dataloader=dict(batch_size=batch_size))
optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.025)),
    arch=dict(optimizer=dict(lr=3e-4)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-3, by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(base_batch_size=64)
