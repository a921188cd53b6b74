# DARTS' CIFAR search schedule: SGD 0.025 with cosine to 1e-3 over 50 epochs for the weights,
# Adam 3e-4 (no clipping) for alpha, for a batch of 64. The config sets the loop's epochs:
#   train_cfg = dict(max_epochs=50, arch_warmup_epochs=0)  # alpha updated from the first step
max_epochs = 50  # for the cosine below; a config changing the epochs rewrites param_scheduler
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5.)),
    arch=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3),
              clip_grad=None))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-3, by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(enable=False, base_batch_size=64)
