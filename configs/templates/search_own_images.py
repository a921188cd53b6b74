# TEMPLATE: a PC-DARTS cell search on your own images (ImageNet-style classification data).
#
# The search needs two disjoint per-class splits of the images (weights and architecture), as
# list files with a classes.txt beside them. Make them from
#   - a folder of class folders (<root>/<class>/*.png):
#       python tools/dataset/imagenet_subset.py ROOT --out SPLITS --train-frac 0.5 --val-frac 0.5
#   - the objects of a COCO-format detection set (its boxes as crops, then the splits):
#       python tools/dataset/export_crops.py ANN.json IMAGES/ ROOT --size 64
#       python tools/dataset/imagenet_subset.py ROOT --out SPLITS --train-frac 0.5 --val-frac 0.5
#   - your own list files: `relative/path label` lines (paths under image_root, labels indexing
#     classes.txt), train.txt and val.txt in one folder with classes.txt.
# Copy this file (e.g. to configs/templates/search_my_data.py; elsewhere, fix `_base_`), edit the
# block marked EDIT -- everything below is derived from it here, so editing it is enough (a child
# config overriding these names would not reach the dataloaders) -- then:
#   python tools/search.py configs/templates/search_my_data.py      # -> work_dirs/search_my_data/genotype.json
#   python tools/train.py configs/templates/ssd_my_data.py --cfg-options \
#       model.backbone.genotype=work_dirs/search_my_data/genotype.json
#
# Fields that must agree:
#   - num_classes = the number of lines of SPLITS/classes.txt (the run stops before the first step,
#     naming both, if it is smaller; it warns if larger);
#   - crop_size: at least 64 (the stem and the two reduction cells divide it by 32; at 32 the last
#     cells see 1x1 maps, where BatchNorm fails on a batch of one image), and, for crops of a
#     detection set, the --size they were exported at (larger crops are only upscaled);
#   - batch_size is used by both splits, and lr is for that batch (auto_scale_lr.base_batch_size);
#   - C must be divisible by partial_k (2 here: PC-DARTS' K for ImageNet).
_base_ = '../search/pcdarts_tiny_imagenet.py'

# ------------------------------------------------------------------------------------ EDIT
image_root = 'data/my_crops/'        # paths in the lists are relative to this folder
split_dir = 'data/my_crops_search/'  # train.txt (weights), val.txt (architecture), classes.txt
num_classes = 3
crop_size = 64
batch_size = 16
max_epochs = 10                      # epochs in all ...
arch_warmup_epochs = 3               # ... of which the first ones train the weights only (alpha/beta frozen)
C, layers = 8, 5                     # search network width and depth (the derived cell is used at any C)
lr = 0.05                            # weights' SGD; alpha/beta: Adam, 6e-3 (the reference's)
# ------------------------------------------------------------------------------------------

model = dict(space=dict(model=dict(num_classes=num_classes, backbone=dict(C=C, layers=layers))))

train_pipeline = [
    dict(type='LoadImageOrSkip', on_error='skip'),  # an unreadable file is logged, not fatal
    dict(type='RandomResizedCrop', size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]


def _split(name):  # noqa: E302  (a parse-time helper, not a config key)
    return dict(batch_size=batch_size, num_workers=0,
                dataset=dict(_delete_=True, type='ImageNetDataset', data_prefix=image_root,
                             ann_file=split_dir + name, pipeline=train_pipeline))


train_dataloader = _split('train.txt')
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=arch_warmup_epochs,
                 arch_dataloader=_split('val.txt'))
optim_wrapper = dict(weights=dict(optimizer=dict(lr=lr)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
auto_scale_lr = dict(base_batch_size=batch_size)
