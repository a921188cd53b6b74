# SSDLite on COCO with the PC-DARTS backbone: MMDetection's SSDLite-MobileNetV2
# recipe (320 px, depthwise SSD neck and head) with MobileNetV2 replaced by the
# genotype-built network (PC_DARTS_image, C=48, 14 cells), tapped at strides 16
# and 32 as SSDLite taps MobileNetV2. Next to configs/ssd_pcdarts_coco.py (the
# SSD300 head, about 3.1 GMACs) this is the light detector the PC-DARTS paper
# quotes at about 1.2B FLOPs; the MACs of both are in the README.
#
#   python tools/train.py configs/ssdlite_pcdarts_coco.py
#       --cfg-options model.backbone.genotype=work_dirs/<search>/genotype.json  (another cell)
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'
runner_type = 'NASRunner'

# Stages 2 and 3 of the C=48 ImageNet network: 4 nodes x 2C and 4 nodes x 4C channels.
backbone_channels = (384, 768)
neck_channels = backbone_channels + (512, 256, 256, 128)

model = dict(
    backbone=dict(
        _delete_=True,
        type='DartsBackbone',
        genotype='PC_DARTS_image',
        C=48,
        layers=14,
        stem='imagenet',
        out_indices=(2, 3),  # strides 16 and 32 (20 and 10 at 320 px)
        drop_path_prob=0.),
    neck=dict(in_channels=backbone_channels, out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels))
