"""ONNX export of a network and an ONNX Runtime session for it: one path for deployment
(``tools/deployment/export_onnx.py``) and for latency measured in ONNX Runtime (the latency predictor).

A network is exported in eval mode with fixed input shape (what a phone or
TensorRT engine is built for), through PyTorch's TorchScript-based exporter
(``dynamo=False``: the op set ONNX Runtime and TensorRT run, without the
dynamo exporter's extra dependency). ``onnx`` and ``onnxruntime`` are optional
(``pip install .[onnx]``); the functions say so when they are missing.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .io import atomic_open

OPSET = 17  # ONNX Runtime >= 1.11 and TensorRT >= 8.6 run it


def require_onnx() -> None:
    """Raise an ImportError that names the extra when onnx or onnxruntime is missing."""
    missing = []
    for name in ('onnx', 'onnxruntime'):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f'ONNX export and ONNX Runtime need {" and ".join(missing)}, an optional '
                          "part of nas_backbones: pip install 'nas_backbones[onnx]' (or pip install "
                          'onnx onnxruntime)')


@torch.no_grad()
def export_onnx(module: nn.Module, inputs: torch.Tensor, path: str,
                input_names: Sequence[str] = ('input',),
                output_names: Optional[Sequence[str]] = None, opset: int = OPSET) -> str:
    """Write ``module`` (put in eval mode, on the CPU) called on ``inputs`` to ``path``, atomically;
    its outputs must be a tensor or a tuple of tensors. Returns ``path``."""
    require_onnx()
    module = module.eval().cpu()
    with warnings.catch_warnings(), atomic_open(path, 'wb') as f:
        warnings.simplefilter('ignore')  # the tracer's notes on constant folding and Python values
        torch.onnx.export(module, (inputs.cpu(),), f, input_names=list(input_names),
                          output_names=None if output_names is None else list(output_names),
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return path


def onnx_session(path: str, device: str = 'cpu', threads: Optional[int] = None):
    """An ONNX Runtime session for ``path`` on ``device`` (CUDA where its provider exists, else
    the CPU), with ``threads`` intra-op threads (default: torch's)."""
    require_onnx()
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    providers = (['CUDAExecutionProvider'] if device.startswith('cuda') else []) + ['CPUExecutionProvider']
    return ort.InferenceSession(os.fspath(path), opts, providers=providers)


def outputs_as_list(outputs) -> list[torch.Tensor]:
    if torch.is_tensor(outputs):
        return [outputs]
    return [t for o in outputs for t in outputs_as_list(o)]


@torch.no_grad()
def compare_with_torch(module: nn.Module, path: str, inputs: torch.Tensor) -> dict:
    """Run ``path`` in ONNX Runtime and ``module`` in PyTorch on ``inputs``: the number of outputs,
    the largest absolute difference, and the largest one relative to its output's largest
    magnitude. Shapes must agree."""
    want = [t.numpy() for t in outputs_as_list(module.eval().cpu()(inputs.cpu()))]
    session = onnx_session(path)
    got = session.run(None, {session.get_inputs()[0].name: inputs.cpu().numpy()})
    if len(got) != len(want):
        raise AssertionError(f'{path}: {len(got)} outputs, PyTorch gives {len(want)}')
    abs_diff, rel_diff = 0., 0.
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            raise AssertionError(f'{path}: output {i} has shape {g.shape}, PyTorch {w.shape}')
        d = np.abs(g - w)
        abs_diff = max(abs_diff, float(d.max(initial=0.)))
        rel_diff = max(rel_diff, float(d.max(initial=0.)) / (float(np.abs(w).max(initial=0.)) + 1e-12))
    return dict(outputs=len(got), max_abs_diff=abs_diff, max_rel_diff=rel_diff)
