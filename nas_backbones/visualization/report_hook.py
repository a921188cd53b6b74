"""SearchReportHook: write WORK_DIR/report/README.md when a search ends.

Add it to a search config with::

    custom_imports = dict(imports=['nas_backbones', 'nas_backbones.visualization.report_hook'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='DerivationHook'), dict(type='SearchReportHook')]

It also sends the space's state (``SearchSpace.tracking``: alpha/beta,
thresholds, the derived architecture and its diagram) through
``runner.visualizer`` after every epoch, so that a TensorBoard, W&B or MLflow
backend shows the search as it runs. By default that is done when the
visualizer has a backend other than ``LocalVisBackend`` (the report already
draws the diagrams locally); ``track=True`` sends to every backend,
``track=False`` to none, ``track_images=False`` sends no diagrams.

matplotlib is imported only on rank 0; a report or tracking that
cannot be written is a warning, never a failed search (the genotype is
already saved by DerivationHook, and ``tools/analysis/search_report.py
WORK_DIR`` rebuilds the report from the history at any time).
"""
from __future__ import annotations

from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from ..engine.derivation_hook import unwrap
from .families import REPORT_FAMILIES


@HOOKS.register_module()
class SearchReportHook(Hook):
    """After training: the report of the search, its result's family writing its part (for DARTS the
    alpha/beta history, the final cells and their cost), and the settings.

    Args:
        measure_cost: report the cost of the derived results where the family
            measures one (DARTS: parameters and FLOPs of the genotype's
            classifier, one network build and trace per distinct genotype).
        cost: the network they are measured as, the family's options over its
            defaults (DARTS: keys of
            :class:`~nas_backbones.spaces.darts.classifier_cost.CostSpec`, C,
            layers, input_size, num_classes; by default the ImageNet classifier,
            C=48, 14 cells, 224x224). An option the family does not take stops
            the search before its first epoch.
        out_dir: where to write (default WORK_DIR/report).
        track: send the space's state to ``runner.visualizer`` after every epoch
            (None: when a backend other than ``LocalVisBackend`` is configured).
        track_images: with ``track``, the diagrams too (drawn each epoch).
    """

    priority = 'VERY_LOW'  # after DerivationHook has written the last epoch

    def __init__(self, measure_cost: bool = True, cost: Optional[dict] = None,
                 out_dir: Optional[str] = None, track: Optional[bool] = None,
                 track_images: bool = True) -> None:
        self.cost = dict(cost or {}) if measure_cost else None
        self.out_dir = out_dir
        self.track, self.track_images = track, track_images

    def before_train(self, runner) -> None:
        space = getattr(unwrap(runner.model), 'space', None)
        if self.cost and space is not None:  # options given: the family says now if it takes them
            family = REPORT_FAMILIES.get(getattr(space.derive(), 'FORMAT', None))
            if family is not None and family.cost is not None:
                family.cost(self.cost)
        if self.track is None:
            backends = getattr(runner.visualizer, '_vis_backends', {}).values()
            self.track = any(type(b).__name__ != 'LocalVisBackend' for b in backends)

    def after_train_epoch(self, runner) -> None:
        if not self.track or get_rank() != 0:
            return
        try:
            from .tracking import send_tracking
            space = unwrap(runner.model).space
            send_tracking(runner.visualizer, space.tracking(self.track_images), step=runner.epoch + 1)
        except Exception as e:  # a tracker that fails must not stop the search
            self.track = False
            runner.logger.warning(f'SearchReportHook: tracking stopped ({type(e).__name__}: {e}); '
                                  'the search goes on')

    def after_train(self, runner) -> None:
        if get_rank() != 0:
            return
        try:
            from .report import write_report
            readme = write_report(runner.work_dir, cost=self.cost, out_dir=self.out_dir,
                                  logger=runner.logger)
        except Exception as e:  # the search result must survive a plotting failure
            runner.logger.warning(
                f'SearchReportHook: no search report ({type(e).__name__}: {e}). The search '
                f'result is unaffected; retry with: python tools/analysis/search_report.py '
                f'{runner.work_dir}')
            return
        runner.logger.info(f'search report: {readme}')
