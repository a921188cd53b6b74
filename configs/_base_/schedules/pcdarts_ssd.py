# The detection search's schedule (ours, not a paper's: no published recipe searches PC-DARTS cells
# on a detection loss): SSD300's optimizer (SGD 2e-3 for a total batch of 64, 500-iteration
# warm-up), cosine to 0 over 24 epochs; Adam 6e-3 (PC-DARTS') for alpha/beta. The config sets the
# loop's epochs:
#   train_cfg = dict(max_epochs=24, arch_warmup_epochs=12)  # alpha/beta frozen for the first 12
max_epochs = 24  # for the cosine below; a config changing the epochs rewrites param_scheduler
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=2e-3, momentum=0.9, weight_decay=5e-4),
                 clip_grad=dict(max_norm=10.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3),
              clip_grad=dict(max_norm=5.)))
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
auto_scale_lr = dict(enable=False, base_batch_size=64)
