# The classification search whose trunk the warm-started detection search starts from (issue 19,
# item 3; FNA's idea): configs/search/pcdarts_demo.py (C=8, 5 cells: the trunk of
# search_shapes.py) on 64 px object crops of the shapes benchmark's TRAINING images only
# (tools/dataset/export_crops.py -> data/shapes_crops, split by tools/dataset/imagenet_subset.py
# into halves for the weights and alpha; benchmarks/shapes/run.sh makes both). Only its trunk's
# weights are used (search_shapes_warm.py): 10 epochs, 9 of them weights only.
_base_ = '../../configs/search/pcdarts_demo.py'

max_epochs = 10
_dataset = dict(data_prefix='data/shapes_crops/')
train_dataloader = dict(dataset=dict(_dataset, ann_file='data/shapes_crops_search/train.txt'))
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=max_epochs - 1,
                 arch_dataloader=dict(dataset=dict(_dataset, ann_file='data/shapes_crops_search/val.txt')))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
randomness = dict(seed=0)
