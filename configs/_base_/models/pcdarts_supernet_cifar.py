# The PC-DARTS CIFAR search network (K=4, C=16, 8 cells, the CIFAR stem, 10 classes) on
# classification, searched with the first-order bilevel update. Normalised with CIFAR-10's
# mean/std, as the reference; set data_preprocessor for other data. DARTS' network is the K=1
# special case without edge normalization (configs/search/darts_cifar.py).
model = dict(
    type='DifferentiableSearch',
    space=dict(
        type='ModelSearchSpace',
        model=dict(
            type='SearchClassifier',
            num_classes=10,
            backbone=dict(type='PCDartsSearchBackbone', out_indices=(-1,), C=16, layers=8, steps=4,
                          multiplier=4, stem='cifar', stem_multiplier=3, partial_k=4,
                          impl='fast',       # 'reference': the paper's equations, one edge at a time
                          recompute=False)),  # True: stem + 1x1 preprocessing recomputed in backward
        arch=dict(edge_norm=True)),
    unrolled=False,  # first order; configs/search/darts_cifar_2nd_order.py is second order
    # CIFAR-10's statistics (the reference's CIFAR_MEAN / CIFAR_STD), in 0-255 RGB
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[125.307, 122.950, 113.865],
                           std=[62.993, 62.089, 66.705], bgr_to_rgb=True))
