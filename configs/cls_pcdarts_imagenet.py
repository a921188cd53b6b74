# ImageNet classification with the PC-DARTS ImageNet cell: DARTS' NetworkImageNet
# (C=48, 14 cells, auxiliary head 0.4, label smoothing 0.1) and the PC-DARTS
# train_imagenet.py recipe. Its checkpoint is the pre-trained trunk of the
# detection transfer (configs/ssd_*.py, init_cfg prefix 'backbone.').
#
#   python tools/train.py configs/cls_pcdarts_imagenet.py                      # 1 process
#   bash tools/dist_train.sh configs/cls_pcdarts_imagenet.py 8                 # 8 GPUs x 128 = 1024
#
# Data: data/imagenet/{train,val}/<class>/*.JPEG (val sorted into class folders).
# List files instead (lines "relative/path label", labels index classes.txt):
#   train_dataloader.dataset: data_prefix='train', ann_file='meta/train.txt', classes='meta/classes.txt'
#   (tools/dataset/imagenet_subset.py writes such lists for the search subsets).
# Elsewhere: --cfg-options train_dataloader.dataset.data_root=/data/imagenet \
#            val_dataloader.dataset.data_root=/data/imagenet test_dataloader.dataset.data_root=/data/imagenet
# Another genotype: --cfg-options model.backbone.genotype=work_dirs/<search>/genotype.json
#
# Deviations from the reference (train_imagenet.py):
# - global pooling is adaptive (reference: AvgPool2d(7), 224 only); identical at 224;
# - images are decoded with OpenCV (reference: PIL); resizing uses the pillow backend
#   as torchvision does; the test resize rounds the long side (torchvision truncates);
# - the LR is set per epoch by three chained LinearLR schedulers that reproduce the
#   reference's values exactly (see param_scheduler); the reference only warms up
#   when the total batch exceeds 256: drop the first scheduler for smaller batches
#   (and scale lr linearly, 0.5 per 1024 images).
custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'
runner_type = 'NASRunner'  # persistent_workers follows num_workers (nas_backbones.engine.runner)

data_root = 'data/imagenet'
num_classes = 1000
img_size = 224
test_resize = 256  # short side, then a centre crop of img_size (the reference's 256 / 224)
max_epochs = 250
warmup_epochs = 5
drop_path_prob = 0.  # the reference ImageNet recipe; CIFAR recipes use 0.2 (DARTS) / 0.3 (PC-DARTS)

model = dict(
    type='GenotypeClassifier',
    backbone=dict(
        type='DartsBackbone',
        genotype='PC_DARTS_image',  # a published name or a search's genotype.json
        C=48,
        layers=14,
        stem='imagenet',
        out_indices=(3, ),
        drop_path_prob=0.),  # ramped by DropPathHook
    num_classes=num_classes,
    auxiliary=True,
    aux_weight=0.4,
    label_smoothing=0.1,
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))

train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),  # grayscale / CMYK files -> 3-channel BGR
    dict(type='RandomResizedCrop', size=img_size, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='ResizeShortestEdge', scale=test_resize, backend='pillow'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackClsInputs'),
]

train_dataloader = dict(
    batch_size=128,  # per GPU: 8 GPUs make the reference's 1024
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ImageNetDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageNetDataset',
        data_root=data_root,
        data_prefix='val',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClsAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=3e-5),
    clip_grad=dict(max_norm=5., norm_type=2))
# The reference (lr0 = 0.5, e = epoch from 0, constant within an epoch):
#   e < 5: lr0 * (e + 1) / 5;  5 <= e < 245: lr0 * (245 - e) / 245;
#   e >= 245: lr0 * (250 - e) / (245 * 5).
# LinearLR factors chain on the current LR, hence the third one's 1.0 -> 0.2.
param_scheduler = [
    dict(type='LinearLR', start_factor=1. / warmup_epochs, end_factor=1.,
         begin=0, end=warmup_epochs, by_epoch=True),
    dict(type='LinearLR', start_factor=(max_epochs - 2 * warmup_epochs) / (max_epochs - warmup_epochs),
         end_factor=1. / (max_epochs - warmup_epochs),
         begin=warmup_epochs, end=max_epochs - warmup_epochs, by_epoch=True),
    dict(type='LinearLR', start_factor=1., end_factor=1. / warmup_epochs,
         begin=max_epochs - warmup_epochs, end=max_epochs, by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# The recipe's lr is for a total batch of 1024; --auto-scale-lr rescales it for others.
auto_scale_lr = dict(enable=False, base_batch_size=1024)

custom_hooks = [dict(type='DropPathHook', drop_prob=drop_path_prob)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='cls/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
randomness = dict(seed=0)  # the reference's --seed default
load_from = None
resume = False
