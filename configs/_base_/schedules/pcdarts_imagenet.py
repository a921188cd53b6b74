# PC-DARTS' ImageNet search schedule: SGD 0.5 with a 5-epoch warm-up and cosine to 0 over 50 epochs
# for the weights, Adam 6e-3 for alpha/beta, for a total batch of 1024. The search loop is the data
# file's (it holds the architecture split), so a config using this schedule sets the epochs there:
#   train_cfg = dict(max_epochs=50, arch_warmup_epochs=35)  # alpha/beta frozen for the first 35
# and a config changing the epochs rewrites param_scheduler with them (tests/configs/test_configs.py checks
# that the weights' schedule ends at train_cfg.max_epochs).
max_epochs = 50  # for the cosine below; MMEngine resolves it here, a child's max_epochs does not reach it
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3),
              clip_grad=dict(max_norm=5.)))
param_scheduler = dict(
    weights=[
        # x (e + 1) / 5 in epochs 0-4 (MMEngine's LinearLR ramps over end - begin - 1 steps),
        # multiplying the cosine value; see docs/faithfulness.md
        dict(type='LinearLR', start_factor=0.2, end_factor=1.0, by_epoch=True, begin=0, end=5),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
# The learning rates above are for a total batch of 1024; --auto-scale-lr adapts them.
auto_scale_lr = dict(enable=False, base_batch_size=1024)
