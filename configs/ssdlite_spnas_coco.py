# SSDLite on COCO with a Single-Path NAS backbone: MMDetection's SSDLite-MobileNetV2
# recipe (320 px, depthwise SSD neck and head, ReLU6 there, 120 epochs x 5 repeats,
# SGD 0.015 with cosine decay) with MobileNetV2 replaced by the derived network.
# It is tapped where SSDLite taps MobileNetV2: the stride-16 block (96 channels)
# and the head conv (1280 channels), so the neck and head stay as they are.
#
#   python tools/train.py configs/ssdlite_spnas_coco.py
#   python tools/test.py configs/ssdlite_spnas_coco.py work_dirs/ssdlite_spnas_coco/epoch_120.pth
#
# Without edits to this file:
#   - a searched network: --cfg-options model.backbone.arch=work_dirs/<search>/architecture.json
#     (the published SPNAS_Pixel1 by default; a width multiplier other than 1 changes the
#     backbone's widths: set model.neck.in_channels and model.bbox_head.in_channels to match)
#   - an ImageNet-trained trunk (configs/cls_spnas_imagenet.py keeps it in `backbone`):
#       --cfg-options model.backbone.init_cfg.type=Pretrained \
#                     model.backbone.init_cfg.checkpoint=work_dirs/cls_spnas_imagenet/epoch_350.pth \
#                     model.backbone.init_cfg.prefix=backbone.
#     Without one the trunk starts from the reference's initialisation (MMDetection's
#     recipe trains MobileNetV2 from scratch too, with TruncNormal(0.03) convs).
#   - COCO is read from data/coco/ (mmdet's layout).
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'
runner_type = 'NASRunner'

model = dict(
    backbone=dict(
        _delete_=True,
        type='SinglePathBackbone',
        arch='SPNAS_Pixel1',  # a published name, or the path of a search's architecture.json
        out_indices=(4, 7),   # stride 16 (96 ch) and the head conv (1280 ch), as SSDLite's MobileNetV2
        # the detection recipe's BN; the network keeps its own ReLU (the reference's)
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03)))
