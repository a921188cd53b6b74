"""SearchReportHook: write WORK_DIR/report/README.md when a search ends.

Add it to a search config with::

    custom_imports = dict(imports=['nas_backbones', 'nas_backbones.visualization.report_hook'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='DerivationHook'), dict(type='SearchReportHook')]

matplotlib is imported only inside ``after_train``, on rank 0; a report that
cannot be written is a warning, never a failed search (the genotype is
already saved by DerivationHook, and ``tools/analysis/search_report.py
WORK_DIR`` rebuilds the report from the history at any time).
"""
from __future__ import annotations

from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from .cost import CostSpec


@HOOKS.register_module()
class SearchReportHook(Hook):
    """After training: plots of the alpha/beta history, the final cells, their cost, the settings.

    Args:
        measure_cost: report parameters and FLOPs of the derived genotypes
            (one network build and trace per distinct genotype).
        cost: the network they are measured as, keys of
            :class:`~nas_backbones.visualization.cost.CostSpec` (C, layers,
            input_size, num_classes); default the DARTS ImageNet classifier,
            C=48, 14 cells, 224x224.
        out_dir: where to write (default WORK_DIR/report).
    """

    priority = 'VERY_LOW'  # after DerivationHook has written the last epoch

    def __init__(self, measure_cost: bool = True, cost: Optional[dict] = None,
                 out_dir: Optional[str] = None) -> None:
        self.cost = CostSpec(**(cost or {})) if measure_cost else None
        self.out_dir = out_dir

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
