# A CPU-sized run of configs/cls_pcdarts_imagenet.py on Tiny-ImageNet-10
# (10 classes, 500 + 50 images each, 64x64): a smaller network (C=16, 8 cells,
# the size of the PC-DARTS search network), 64x64 inputs, 3 epochs. A smoke test
# of the whole classification path, not a benchmark.
#
#   python tools/train.py configs/cls_pcdarts_tiny_imagenet.py
#
# Data elsewhere (e.g. the project's ../shared/data/tiny-imagenet-10):
#   --cfg-options train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#                 test_dataloader.dataset.data_root=DIR
# Train images are read in the folder layout (train/<wnid>/images/*.JPEG), val
# images through the list file meta/val.txt (Tiny-ImageNet's val folder is flat).
_base_ = './cls_pcdarts_imagenet.py'

data_root = 'data/tiny-imagenet-10'
num_classes = 10
img_size = 64
test_resize = 73  # 64 * 256 / 224, the reference's resize-to-crop ratio
max_epochs = 3

model = dict(backbone=dict(C=16, layers=8), num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile', color_type='color'),
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
    batch_size=64,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        data_prefix='train',
        classes='meta/classes.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        data_prefix='',
        ann_file='meta/val.txt',
        classes='meta/classes.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# lr 0.5 per 1024 images scaled to 64; no warm-up (the reference skips it
# below a total batch of 256), linear decay to 1/max_epochs of it.
optim_wrapper = dict(optimizer=dict(lr=0.5 * 64 / 1024))
param_scheduler = [
    dict(type='LinearLR', start_factor=1., end_factor=1. / max_epochs,
         begin=0, end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
