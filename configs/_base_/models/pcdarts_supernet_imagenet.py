# The PC-DARTS ImageNet search network (K=2, C=16, 8 cells, three stride-2 stem convs) on
# classification, searched with the first-order bilevel update. ImageNet's statistics.
# The space (model.space) is the search classifier (trunk -> pool -> linear -> cross-entropy) whose
# backbone is the searchable trunk, plus the trunk's alpha/beta (model.space.arch).
model = dict(
    type='DifferentiableSearch',
    space=dict(
        type='ModelSearchSpace',
        model=dict(
            type='SearchClassifier',
            num_classes=1000,
            backbone=dict(type='PCDartsSearchBackbone', out_indices=(-1,), C=16, layers=8, steps=4,
                          multiplier=4, stem='imagenet', stem_multiplier=3, partial_k=2,
                          impl='fast',       # 'reference': the paper's equations, one edge at a time
                          recompute=False)),  # True: stem + 1x1 preprocessing recomputed in backward
        arch=dict(edge_norm=True),  # + the stabilisers: max_skips, beta_decay, perturb, aux_skip, ...
        # cost=dict(weight=0.1, input_size=224): hardware-aware search (pcdarts_imagenet_flops.py)
    ),
    unrolled=False,  # PC-DARTS searches with the first-order approximation
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
