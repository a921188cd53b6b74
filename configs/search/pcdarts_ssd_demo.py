# tools/demo.py --search-on detection: the cell searched inside SSD on the generated shapes
# (data/synthetic_coco, 3 classes), on the detector's loss, instead of on crops of them. The train
# set's images are split in two disjoint quarters (tools/dataset/coco_split.py -> data/
# synthetic_coco_search), one warm-up epoch, then one with alpha/beta updates, with the FLOPs term
# and the cap of two skips of pcdarts_ssd_coco128.py (as pcdarts_demo.py has them).
_base_ = './pcdarts_ssd_coco128.py'

max_epochs = 2
batch_size = 8
metainfo = dict(classes=('circle', 'square', 'triangle'))
model = dict(space=dict(detector=dict(bbox_head=dict(num_classes=len(metainfo['classes'])))))
_dataset = dict(data_prefix=dict(img='data/synthetic_coco/train/'), metainfo=metainfo)
train_dataloader = dict(batch_size=batch_size,
                        dataset=dict(_dataset, ann_file='data/synthetic_coco_search/train.json'))
train_cfg = dict(
    max_epochs=max_epochs, arch_warmup_epochs=1,
    arch_dataloader=dict(batch_size=batch_size,
                         dataset=dict(_dataset, ann_file='data/synthetic_coco_search/val.json')))
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
randomness = dict(seed=0)
