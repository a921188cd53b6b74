# The main job's search (tools/demo.py): PC-DARTS on 64x64 object crops of the
# generated shapes dataset, 3 classes, one warm-up epoch, then one with alpha/beta updates.
_base_ = './pcdarts_tiny_imagenet.py'

data_root = 'data/'
train_images = data_root + 'synthetic_crops/'
subset_dir = data_root + 'synthetic_crops_search/'
max_epochs = 2
batch_size = 16

model = dict(supernet=dict(num_classes=3, C=8, layers=5))
_dataset = dict(type='ImageNetDataset', data_prefix=train_images)
train_dataloader = dict(batch_size=batch_size,
                        dataset=dict(_dataset, ann_file=subset_dir + 'train.txt'))
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=1,
                 arch_dataloader=dict(batch_size=batch_size,
                                      dataset=dict(_dataset, ann_file=subset_dir + 'val.txt')))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
