# Single-Path NAS' ImageNet schedule (the reference's): one TF-style RMSProp (decay 0.9, momentum
# 0.9, epsilon 1e-3) over the weights and the thresholds together, lr 0.016 x batch / 256 = 0.064
# for a total batch of 1024, x0.97 every 2.4 epochs, over 8 epochs (the reference's 10,008 steps).
# The L2 term is in the loss (the model's weight_decay), not in the optimizer. The config sets the
# loop's epochs: train_cfg = dict(max_epochs=8).
max_epochs = 8  # for the schedule below; a config changing the epochs rewrites param_scheduler
total_batch = 1024  # 8 GPUs x 128
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='RMSpropTF', lr=0.016 * total_batch / 256, alpha=0.9,
                                momentum=0.9, eps=1e-3, weight_decay=0.)))
param_scheduler = dict(weights=[
    dict(type='StaircaseExponentialLR', period=2.4, gamma=0.97, by_epoch=True,
         convert_to_iter_based=True, begin=0, end=max_epochs)])
auto_scale_lr = dict(enable=False, base_batch_size=total_batch)  # --auto-scale-lr for other totals
