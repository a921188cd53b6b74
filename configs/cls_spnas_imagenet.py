# ImageNet classification with a Single-Path NAS network (the published SPNAS_Pixel1 by
# default, or a search's architecture.json): stem 32, the architecture's MBConv layers,
# head 1280, dropout 0.2, FC. The recipe the reference trains a found network with
# (MnasNet's): 350 epochs, TF-style RMSProp (decay 0.9, momentum 0.9, epsilon 1e-3),
# lr 0.016 x batch / 256 after a 5-epoch linear warm-up from 0 (per iteration), decayed x0.97
# every 2.4 epochs (counted from the start), weight decay 1e-5 (not on BN), label smoothing
# 0.1, BN momentum 0.01 (TF 0.99) and eps 1e-3, EMA of the weights 0.9999; bicubic resizing.
# Its checkpoint is the pre-trained trunk of configs/ssdlite_spnas_coco.py (prefix 'backbone.').
#
#   bash tools/dist_train.sh configs/cls_spnas_imagenet.py 8            # 8 x 128 = 1024 images
#   --cfg-options model.backbone.arch=work_dirs/spnas_imagenet/architecture.json   (a searched one)
#
# Data: data/imagenet/{train,val}/<class>/*.JPEG, as configs/cls_pcdarts_imagenet.py.
custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'
runner_type = 'NASRunner'

data_root = 'data/imagenet'
num_classes = 1000
img_size = 224
test_resize = 256
max_epochs = 350
warmup_epochs = 5
batch_size = 128  # per GPU
total_batch = 8 * batch_size

model = dict(
    type='SinglePathClassifier',
    backbone=dict(type='SinglePathBackbone', arch='SPNAS_Pixel1'),
    num_classes=num_classes,
    dropout=0.2,
    label_smoothing=0.1,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))

train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='RandomResizedCrop', size=img_size, interpolation='bicubic', backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='ResizeShortestEdge', scale=test_resize, interpolation='bicubic', backend='pillow'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ImageNetDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, num_workers=8, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNetDataset', data_root=data_root, data_prefix='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClsAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='RMSpropTF', lr=0.016 * total_batch / 256, alpha=0.9, momentum=0.9,
                   eps=1e-3, weight_decay=1e-5),
    paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(type='StaircaseExponentialLR', period=2.4, gamma=0.97, warmup=warmup_epochs,
         by_epoch=True, convert_to_iter_based=True, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=total_batch)

# mmengine's momentum is 1 - decay; validation and checkpoints use the averaged weights.
custom_hooks = [dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=1e-4,
                     update_buffers=True)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3,
                    save_best='cls/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
randomness = dict(seed=0)
load_from = None
resume = False
