# Network-level search of the mobile setting (ImageNet, <= 600M multiply-adds at the chosen input
# size): which found cells go in which stage, how many cells per stage (so where the two
# reductions fall), the width C and the input size, for accuracy, MACs and CPU latency.
#
#   python tools/network_search.py configs/network_search/darts_mobile_imagenet.py
#
# Accuracy is a short training of each candidate from scratch on the search's weight split,
# measured on its architecture split (docs/network_search.md says why not inherited weights).
# Results: work_dirs/darts_mobile_imagenet/pareto.json, candidates.json, pareto.png.
_base_ = ['../_base_/datasets/imagenet_network_search.py']

custom_imports = dict(imports=['nas_backbones'], allow_failed_imports=False)
default_scope = 'mmdet'

# The network every candidate overrides (genotype, C, layers, reductions, stem): DARTS' ImageNet
# evaluation network, auxiliary head in training.
model = dict(
    type='GenotypeClassifier',
    backbone=dict(type='DartsBackbone', genotype='PC_DARTS_image', C=48, layers=14, stem='imagenet'),
    num_classes=1000, auxiliary=True, aux_weight=0.4, label_smoothing=0.1)

network_search = dict(
    space=dict(
        type='DartsNetworkSpace',
        genotypes=['PC_DARTS_image', 'PC_DARTS_cifar', 'DARTS_V2'],  # or search work dirs' genotype.json
        genotype_per_stage=True,
        C=[32, 40, 48, 56],
        stage_cells=[[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]],  # normal cells after each reduction
        input_size=[192, 224],
        stem='imagenet'),
    objectives=['accuracy', 'macs', 'latency'],
    constraints=dict(macs=600e6),
    n_trials=200,
    workers=2,
    threads=1,
    sampler=dict(population_size=20, seed=0),
    accuracy=dict(epochs=1, lr=0.1),
    latency=dict(source='measured', device='cpu', batch=1, repeats=10),
)
