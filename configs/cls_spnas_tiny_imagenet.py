# A CPU-sized run of configs/cls_spnas_imagenet.py on Tiny-ImageNet-10 (10 classes,
# 64x64): SPNAS_Pixel1 at width 0.5, 3 epochs, batch 64. A smoke test of the
# classification path, not a benchmark.
#
#   python tools/train.py configs/cls_spnas_tiny_imagenet.py
#   --cfg-options model.backbone.arch=work_dirs/spnas_tiny_imagenet/architecture.json
_base_ = './cls_spnas_imagenet.py'

data_root = 'data/tiny-imagenet-10'
num_classes = 10
img_size = 64
test_resize = 73  # 64 * 256 / 224
max_epochs = 3
batch_size = 64

model = dict(backbone=dict(width_mult=0.5), num_classes=num_classes)
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='RandomResizedCrop', size=img_size, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
    dict(type='ResizeShortestEdge', scale=test_resize, backend='pillow'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=batch_size, num_workers=2,
    dataset=dict(data_root=data_root, data_prefix='train', classes='meta/classes.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100, num_workers=2,
    dataset=dict(data_root=data_root, data_prefix='', ann_file='meta/val.txt',
                 classes='meta/classes.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.016 * batch_size / 256))
param_scheduler = [
    dict(type='StaircaseExponentialLR', period=2.4, gamma=0.97, by_epoch=True,
         convert_to_iter_based=True, begin=0, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=batch_size)
custom_hooks = []  # no EMA over 3 epochs
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=1, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
