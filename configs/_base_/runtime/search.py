# What every search shares: registration, the runner, hooks, environment and logging.
# A detection search adds nas_backbones.datasets.coco to custom_imports in its own config (a base
# other than this one may not set custom_imports: MMEngine refuses a key set by two bases).
default_scope = 'mmdet'
# The report hook is imported on its own: plotting stays out of `import nas_backbones`.
custom_imports = dict(imports=['nas_backbones', 'nas_backbones.visualization.report_hook'],
                      allow_failed_imports=False)
runner_type = 'NASRunner'

# The supernet's accuracy selects nothing (PC-DARTS expects about 31% on ImageNet), so no validation.
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# DerivationHook: genotype.json + search_history.json each epoch; SearchReportHook: report/README.md at the end
custom_hooks = [dict(type='DerivationHook'), dict(type='RNGStateHook'), dict(type='SearchReportHook')]

env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(type='SearchDDP')
randomness = dict(seed=2)  # the reference's seed
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
