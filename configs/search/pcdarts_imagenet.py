# PC-DARTS search on ImageNet subsets (pcdarts.md §3.2-3.3): K=2, C=16, 8 cells,
# 50 epochs with alpha/beta frozen for the first 35, batch 1024 in total.
# Sample the subsets first (10% of each class for the weights, 2.5% for alpha):
#   python tools/dataset/imagenet_subset.py data/imagenet/train --out data/imagenet_search \
#       --train-frac 0.1 --val-frac 0.025 --seed 0
# then: bash tools/dist_search.sh configs/search/pcdarts_imagenet.py 8
# Deviations, on purpose: the cosine schedule follows PyTorch >= 1.1 (epoch e runs
# at lr_cos(e), the reference's pre-1.1 stepping ran it at lr_cos(e + 1)), and
# the 5-epoch warm-up multiplies the cosine value instead of replacing it.
default_scope = 'mmdet'
# The report hook is imported on its own: plotting stays out of `import nas_backbones`.
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.visualization.report_hook'],
                      allow_failed_imports=False)
runner_type = 'NASRunner'

data_root = 'data/'
train_images = data_root + 'imagenet/train/'
subset_dir = data_root + 'imagenet_search/'
crop_size = 224
max_epochs = 50
arch_warmup_epochs = 35
batch_size = 128  # per GPU: 8 x 128 = 1024, the reference's total

model = dict(
    type='DartsSearch',
    supernet=dict(type='PCDartsSupernet', num_classes=1000, C=16, layers=8, steps=4,
                  multiplier=4, stem='imagenet', stem_multiplier=3, partial_k=2,
                  recompute=False),  # True: stem + 1x1 preprocessing recomputed in backward, less memory
    edge_norm=True,
    unrolled=False,  # PC-DARTS searches with the first-order approximation
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    dict(type='RandomResizedCrop', size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(type='ImageNetDataset', data_prefix=train_images, pipeline=train_pipeline)
train_dataloader = dict(  # the weight split; its position is resumed mid-epoch
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file=subset_dir + 'train.txt'))
arch_dataloader = dict(  # the architecture split; its position is resumed mid-pass
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(_dataset, ann_file=subset_dir + 'val.txt'))

train_cfg = dict(type='SearchLoop', max_epochs=max_epochs, arch_warmup_epochs=arch_warmup_epochs,
                 arch_dataloader=arch_dataloader)
# The supernet's accuracy selects nothing (about 31% is expected), so no validation.
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5.)),
    arch=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3),
              clip_grad=dict(max_norm=5.)))
param_scheduler = dict(
    weights=[
        # lr * (e + 1) / 5 for epochs 0-4: the reference's warm-up for batches > 256
        dict(type='LinearLR', start_factor=0.2, end_factor=1.0, by_epoch=True, begin=0, end=4),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
# The learning rates above are for a total batch of 1024; --auto-scale-lr adapts them.
auto_scale_lr = dict(enable=False, base_batch_size=1024)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# GenotypeHook: genotype.json + search_history.json each epoch; SearchReportHook: report/README.md at the end
custom_hooks = [dict(type='GenotypeHook'), dict(type='RNGStateHook'), dict(type='SearchReportHook')]

env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(type='SearchDDP')
randomness = dict(seed=2)  # the reference's seed
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
