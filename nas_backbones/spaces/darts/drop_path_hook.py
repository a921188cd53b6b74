"""The drop-path schedule of DARTS' evaluation training: a linear ramp over the epochs.

A DARTS hook (only its cells drop paths), registered when the family is imported;
configs name it ``DropPathHook`` as before it moved here from ``engine/``."""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def drop_path_target(model):
    """The module whose ``drop_path_prob`` drives the cells: the model itself or its backbone."""
    if is_model_wrapper(model):
        model = model.module
    for candidate in (model, getattr(model, 'backbone', None)):
        if candidate is not None and hasattr(candidate, 'drop_path_prob'):
            return candidate
    raise TypeError(f'DropPathHook: {type(model).__name__} has no drop_path_prob, '
                    'neither itself nor through .backbone (expected a DartsBackbone)')


@HOOKS.register_module()
class DropPathHook(Hook):
    """Before each training epoch set ``drop_path_prob = drop_prob * epoch / max_epochs``.

    This is the reference's ``model.drop_path_prob = args.drop_path_prob * epoch / args.epochs``
    (0 in the first epoch). PC-DARTS uses 0.3 on CIFAR and 0 on ImageNet.
    """

    priority = 'NORMAL'

    def __init__(self, drop_prob: float = 0.) -> None:
        if not 0. <= drop_prob < 1.:
            raise ValueError(f'DropPathHook: drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def before_train_epoch(self, runner) -> None:
        max_epochs = runner.max_epochs
        if not max_epochs:
            raise ValueError('DropPathHook needs an epoch-based train loop (max_epochs is not set)')
        p = self.drop_prob * runner.epoch / max_epochs
        drop_path_target(runner.model).drop_path_prob = p
        runner.message_hub.update_info('drop_path_prob', p)
