# The Single-Path NAS supernet on ImageNet (the reference's): the 22-layer MobileNetV2-style
# network, every searchable layer a 5x5 e6 superkernel with thresholds at 0, searched in one level.
# Loss: CE with label smoothing 0.1 + 1e-5 L2 (in the loss, thresholds included) + lambda * 1e3 *
# ln(R); during a 5-epoch warm-up lambda is 0 and each indicator is dropped with p = 0.4, afterwards
# lambda = 0.020 (the reference's README run). R is the reference's Pixel 1 latency table ('pixel1')
# at 224 px, for which lambda was tuned (see configs/search/spnas_imagenet.py for one's own table).
# The space (model.space) is the search classifier whose backbone is the searchable trunk, the
# thresholds with their warm-up and the L2 term (model.space.arch), and the runtime term
# (model.space.cost; its num_classes counts the classifier in R, as the model's).
model = dict(
    type='DifferentiableSearch',
    unrolled=False,
    space=dict(
        type='ModelSearchSpace',
        model=dict(
            type='SearchClassifier',
            num_classes=1000,
            label_smoothing=0.1,
            dropout=0.2,
            loss_name='loss_cls',
            # initialise=False: the reference's initialisation covers trunk and classifier together
            backbone=dict(type='SinglePathSearchBackbone', out_indices=(-1,), initialise=False,
                          width_mult=1.0)),
        arch=dict(
            warmup_epochs=5,  # in epochs of the search loop: a config with other epochs sets it too
            keep_prob=0.6,
            weight_decay=1e-5),  # the L2 term in the loss (the optimizer has none)
        cost=dict(runtime_lambda=0.02, runtime_scale=1e3, metric='latency', input_size=224, batch=1,
                  latency_table='pixel1', num_classes=1000)),
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
