# PC-DARTS' CIFAR recipe for a user's own small images in ImageNet format: K=4, CIFAR stem,
# 32x32, batch 256, SGD 0.1 with cosine to 0, Adam 6e-4, alpha frozen for 15 of 50 epochs.
# Normalised with CIFAR-10's mean/std, as the reference; set data_preprocessor for other data.
# Point it at your data with --cfg-options, e.g.
#   train_dataloader.dataset.ann_file=... train_cfg.arch_dataloader.dataset.ann_file=...
#   model.architecture.supernet.num_classes=N
_base_ = './pcdarts_imagenet.py'

crop_size = 32
batch_size = 256
max_epochs = 50

model = dict(
    architecture=dict(supernet=dict(num_classes=10, C=16, layers=8, stem='cifar', partial_k=4)),
    # CIFAR-10's statistics (the reference's CIFAR_MEAN / CIFAR_STD), in 0-255 RGB
    data_preprocessor=dict(mean=[125.307, 122.950, 113.865], std=[62.993, 62.089, 66.705]))

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # a bad file is logged, not fatal
    # Resize to 40 then a random 32 crop stands in for the reference's
    # RandomCrop(32, padding=4) (mmcv/mmdet have no padded random crop).
    dict(type='Resize', scale=(crop_size + 8, crop_size + 8), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(crop_size, crop_size)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
_dataset = dict(data_prefix='data/my_images/', pipeline=train_pipeline)
train_dataloader = dict(batch_size=batch_size, num_workers=4,
                        dataset=dict(_dataset, ann_file='data/my_images_search/train.txt'))
train_cfg = dict(
    arch_warmup_epochs=15,
    arch_dataloader=dict(batch_size=batch_size, num_workers=4,
                         dataset=dict(_dataset, ann_file='data/my_images_search/val.txt')))

optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.1)),
    arch=dict(optimizer=dict(lr=6e-4), clip_grad=None))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(base_batch_size=256)
