# The main job's search (tools/demo.py): PC-DARTS on 64x64 object crops of the
# generated shapes dataset, 3 classes, one warm-up epoch, then one with alpha/beta updates.
# For a short search on crops (tens of architecture steps), a FLOPs term in the architecture loss
# (the cell's expected multiply-adds relative to uniform alpha): on coco128 crops it lifted the
# searched cells from chance to above most random cells (benchmarks/README.md, section 8). The pull
# adds up with the steps: for longer searches lower the weight (about 0.1 * 18 / architecture
# steps) or set cost=None. The cap of two skips comes from pcdarts_tiny_imagenet.py.
_base_ = './pcdarts_tiny_imagenet.py'

max_epochs = 2
batch_size = 16

model = dict(space=dict(model=dict(num_classes=3, backbone=dict(C=8, layers=5)),
                        cost=dict(weight=0.1, input_size=64)))
_dataset = dict(data_prefix='data/synthetic_crops/')
train_dataloader = dict(batch_size=batch_size,
                        dataset=dict(_dataset, ann_file='data/synthetic_crops_search/train.txt'))
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=1,
                 arch_dataloader=dict(batch_size=batch_size,
                                      dataset=dict(_dataset, ann_file='data/synthetic_crops_search/val.txt')))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
                  begin=0, end=max_epochs)],
    arch=[])
