# Hardware-aware PC-DARTS: the ImageNet-subset recipe plus a differentiable FLOPs term in the
# architecture loss (the expected cost of Single-Path NAS, here the multiply-adds of each
# candidate op in the derived network at this input size). weight=0 is plain PC-DARTS; larger
# weights trade accuracy for cheaper cells (searched ImageNet cells often land at 645-712M FLOPs).
_base_ = './pcdarts_imagenet.py'

model = dict(space=dict(cost=dict(weight=0.1, input_size=224)))
