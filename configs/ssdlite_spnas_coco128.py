# ssdlite_spnas_coco.py on coco128 (128 COCO train2017 images, also used for
# validation): the real-data run of the SSDLite recipe, minutes on a CPU. From
# scratch on 128 images the mAP stays near zero; it checks the path (data,
# training, CocoMetric, checkpoints), not the accuracy.
#
#   mkdir -p data && ln -s ../../shared/data/coco128 data/coco128
#   python tools/train.py configs/ssdlite_spnas_coco128.py
#   python tools/test.py configs/ssdlite_spnas_coco128.py work_dirs/ssdlite_spnas_coco128/epoch_4.pth
_base_ = './ssdlite_spnas_coco.py'

data_root = 'data/coco128/'
ann_file = 'annotations/instances_train2017.json'
images = dict(img='train2017/')

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(times=1, dataset=dict(data_root=data_root, ann_file=ann_file, data_prefix=images)))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(data_root=data_root, ann_file=ann_file, data_prefix=images))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + ann_file)
test_evaluator = val_evaluator

max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=16),
]
default_hooks = dict(logger=dict(interval=4), checkpoint=dict(interval=max_epochs))
log_processor = dict(window_size=4)
