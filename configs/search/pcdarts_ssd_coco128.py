# pcdarts_ssd_coco.py on coco128, a few minutes on a CPU: the detection search's real-data path
# (two COCO splits, SSD's loss for both levels, derivation, checkpoints), not a result. A narrow,
# shallow search network (C=8, 5 cells, as pcdarts_tiny_imagenet.py) at 192 px, the extra levels
# with BN (trained from scratch, as ssd_pcdarts_demo.py), no expand/crop/colour augmentation.
# The own-data defaults of pcdarts_tiny_imagenet.py: a FLOPs term (0.1, relative to uniform alpha)
# and at most two skips in the normal cell (P-DARTS' cap), against a short search's skip collapse.
#   mkdir -p data && ln -s /path/to/coco128 data/coco128
#   python tools/dataset/coco_split.py data/coco128/annotations/instances_train2017.json \
#       --out data/coco128_search --train-frac 0.5 --val-frac 0.5 --seed 0
#   python tools/search.py configs/search/pcdarts_ssd_coco128.py
# then SSD with the cell (work_dirs/pcdarts_ssd_coco128/genotype.json) as with any other:
#   python tools/train.py configs/ssd_pcdarts_coco128.py \
#       --cfg-options model.backbone.genotype=work_dirs/pcdarts_ssd_coco128/genotype.json
_base_ = [
    '../_base_/runtime/search.py',
    '../_base_/models/pcdarts_ssd300.py',
    '../_base_/datasets/coco128_search.py',
    '../_base_/schedules/pcdarts_ssd.py',
]
# + SearchCocoDataset, imported on its own (mmdet's datasets pull in matplotlib)
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.datasets.coco',
                               'nas_backbones.visualization.report_hook'], allow_failed_imports=False)

input_size = 192  # the data's size (_base_/datasets/coco128_search.py); the anchors below are for it
max_epochs = 4
# 192 px -> backbone maps 24, 12, 6 (strides 8/16/32), extra levels 3, 2, 1.
backbone_channels = (32, 64, 128)  # 4 nodes x C, 2C, 4C (C=8)
neck_channels = backbone_channels + (128, 128, 128)
model = dict(space=dict(
    cost=dict(weight=0.1, input_size=input_size),
    detector=dict(
        backbone=dict(C=8, layers=5, max_skips=2),
        neck=dict(in_channels=backbone_channels, out_channels=neck_channels,
                  level_strides=(2, 2, 2), level_paddings=(1, 1, 1), norm_cfg=dict(type='BN')),
        bbox_head=dict(
            in_channels=neck_channels,
            anchor_generator=dict(
                input_size=input_size,
                strides=[8, 16, 32, 64, 96, 192],
                # SSD300's sizes (7%..87% of the input) at 192 px, as ssd_pcdarts_demo.py
                min_sizes=[13, 29, 63, 98, 132, 167],
                max_sizes=[29, 63, 98, 132, 167, 203])))))

# The detection search's schedule at this scale: 4 epochs, alpha/beta frozen for the first 2,
# SGD 0.02 for a batch of 8, an 8-iteration warm-up, cosine to 0.
train_cfg = dict(max_epochs=max_epochs, arch_warmup_epochs=max_epochs // 2)
optim_wrapper = dict(weights=dict(optimizer=dict(lr=0.02)))
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
        dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
             begin=0, end=max_epochs),
    ],
    arch=[])
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(logger=dict(interval=4))
log_processor = dict(window_size=4)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
