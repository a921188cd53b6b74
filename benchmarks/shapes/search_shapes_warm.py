# The warm-started long search of the shapes benchmark (issue 19, item 3): search_shapes_long.py
# (240 architecture steps, arch_batches=2, cost.reference_steps=160, the same 10 warm-up epochs)
# with the detection supernet's trunk (stem, cells, BN statistics; not alpha/beta) starting from
# the crop search's last checkpoint (search_shapes_crops.py), instead of from scratch -- the only
# difference, so the pair long / warm measures the warm start alone.
_base_ = './search_shapes_long.py'

model = dict(space=dict(detector=dict(backbone=dict(
    warm_start=dict(checkpoint='work_dirs/shapes/crops/epoch_10.pth', prefix='space.model.')))))
