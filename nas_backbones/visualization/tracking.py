"""Sending a search's per-epoch state to MMEngine's visualizer, so a tracker shows it as it runs.

The space family says what is shown (``SearchSpace.tracking``: scalars,
images, texts); this module only sends it: scalars with ``add_scalars`` and
images with ``add_image`` reach every configured backend (``LocalVisBackend``
writes them to ``vis_data/scalars.json`` and ``vis_data/vis_image/``,
``TensorboardVisBackend``, ``WandbVisBackend`` and ``MLflowVisBackend`` to
their services). MMEngine's backends have no text method, so texts go to
the backends whose client takes text: TensorBoard (``add_text``) and MLflow
(``log_text``, an artifact per epoch); the others leave them out.

A network search (Optuna, no runner) sends its Pareto front with
:func:`send_front` when it exports, through a visualizer built from the
config's ``visualizer``.
"""
from __future__ import annotations

from typing import Optional

from ..core.search_space import Tracking


def send_tracking(visualizer, tracking: Tracking, step: int) -> None:
    if tracking.scalars:
        visualizer.add_scalars(tracking.scalars, step=step)
    for name, image in tracking.images.items():
        visualizer.add_image(name, image, step=step)
    for name, text in tracking.texts.items():
        for backend in getattr(visualizer, '_vis_backends', {}).values():
            send_text(backend, name, text, step)


def send_text(backend, name: str, text: str, step: int) -> None:
    client = backend.experiment
    if hasattr(client, 'add_text'):  # TensorBoard's SummaryWriter
        client.add_text(name, f'```\n{text}\n```', step)  # markdown: keep the layout
    elif hasattr(client, 'log_text'):  # the mlflow module
        client.log_text(text, f'{name}/epoch_{step}.txt')


def send_front(visualizer_cfg: dict, work_dir: str, pareto: dict, image_path: Optional[str]) -> bool:
    """A network search's front to the trackers of ``visualizer_cfg`` (the config's ``visualizer``),
    when it has a backend other than ``LocalVisBackend``: the number of points and of complete trials,
    each objective's best value on the front (``pareto/best_<objective>``), the front's points as
    JSON text and the plot (``pareto.png``) as an image, at step = complete trials. Returns whether
    anything was sent."""
    import json
    import os
    import os.path as osp

    from mmengine.registry import VISUALIZERS
    cfg = dict(visualizer_cfg)
    backends = cfg.get('vis_backends') or []
    if not any(b.get('type') != 'LocalVisBackend' for b in backends):
        return False
    cfg.update(name=f'network_search_{os.getpid()}_{id(pareto)}',
               save_dir=work_dir)  # the backends write to work_dir/vis_data
    visualizer = VISUALIZERS.build(cfg)
    step = int(pareto['trials_complete'])
    scalars = {'pareto/points': float(len(pareto['points'])), 'pareto/trials_complete': float(step)}
    for o in pareto['objectives']:
        values = [p['objectives'][o['name']] for p in pareto['points']]
        if values:
            scalars[f'pareto/best_{o["name"]}'] = float(min(values) if o['direction'] == 'minimize'
                                                        else max(values))
    images = {}
    if image_path and osp.isfile(image_path):
        import numpy as np
        from PIL import Image
        with Image.open(image_path) as im:
            images['pareto'] = np.asarray(im.convert('RGB'))
    text = json.dumps([dict(trial=p['trial'], objectives=p['objectives']) for p in pareto['points']],
                      indent=1)
    send_tracking(visualizer, Tracking(scalars=scalars, images=images, texts={'pareto_front': text}), step)
    for backend in getattr(visualizer, '_vis_backends', {}).values():
        backend.close()
    return True
