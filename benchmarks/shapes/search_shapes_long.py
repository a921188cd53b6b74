# The long search of the shapes benchmark (issue 19, item 3): benchmarks/shapes/search_shapes.py with
# the knobs of docs/search_quality.md ("Knobs for the detection search's architecture signal") on,
# judged by tools/against_chance.py beside the default path's selected cell (benchmarks/shapes/run.sh).
#   - 1.5 times the architecture steps: 25 epochs, the same 10 warm-up ones, so 15 x 16 = 240 steps
#     (search_shapes.py: 160);
#   - train_cfg.arch_batches=2: each step on the mean architecture gradient of 2 batches, so 480
#     architecture batches in all, 3x the default's;
#   - cost.reference_steps=160: the FLOPs term's weight (0.1) is meant for 160 steps and scaled by
#     160/240 here, so the cost's total pull is the default search's while the detector's grows.
# Everything else (data, network, learning rates) is search_shapes.py's.
_base_ = './search_shapes.py'

long_epochs = 25
model = dict(space=dict(cost=dict(reference_steps=160)))
train_cfg = dict(max_epochs=long_epochs, arch_warmup_epochs=10, arch_batches=2)
param_scheduler = dict(
    weights=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=8),
        dict(type='CosineAnnealingLR', T_max=long_epochs, eta_min=0., by_epoch=True,
             begin=0, end=long_epochs),
    ],
    arch=[])
