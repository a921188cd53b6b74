# PC-DARTS' ImageNet search schedule: 50 epochs, alpha/beta frozen for the first 35; SGD 0.5 with a
# 5-epoch warm-up and cosine to 0 for the weights, Adam 6e-3 for alpha/beta, for a total batch of 1024.
max_epochs = 50
arch_warmup_epochs = 35  # the search loop (in the data file) takes both
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
