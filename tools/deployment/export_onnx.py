"""Export a detector (SSD, SSDLite, any MMDetection single-stage detector) or its backbone to ONNX,
and check the file in ONNX Runtime against PyTorch.

    python tools/deployment/export_onnx.py configs/ssdlite_spnas_coco.py --checkpoint CKPT --out ssdlite.onnx
    python tools/deployment/export_onnx.py configs/ssd_pcdarts_coco.py --part backbone --out backbone.onnx \\
        --cfg-options model.backbone.genotype=work_dirs/search/genotype.json
    python tools/deployment/export_onnx.py nas_backbones::ssd_pcdarts_demo.py --out demo.onnx --input-size 192

The detector's graph ends at the head, as MMDetection's own export does:
class scores and box deltas per feature level (``cls_score_<i>``,
``bbox_pred_<i>``), no anchor decoding and no NMS. A backbone's outputs are
its feature maps (``stage_<i>``). The input (``input``, batch x 3 x H x W,
fixed shape) is what the data preprocessor feeds the model: resized,
normalised with the mean/std the tool prints (its last line: a JSON object with the
outputs, the preprocessing and the check). After writing, the file is run
in ONNX Runtime on a random input and compared with PyTorch; the tool fails
when the largest difference, relative to each output's magnitude, exceeds
``--rtol``. Needs ``pip install 'nas_backbones[onnx]'`` (onnx, onnxruntime).
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import sys
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction

import nas_backbones  # noqa: F401  registers the models and applies the compatibility fixes
from nas_backbones.models.deploy import PARTS, build_for_export, preprocess_settings
from nas_backbones.package import resolve_config
from nas_backbones.utils.export import OPSET, compare_with_torch, export_onnx, require_onnx


def input_size_of(cfg: Config, given: Optional[int]) -> int:
    if given is not None:
        return given
    size = cfg.get('input_size')
    if isinstance(size, int):
        return size
    raise ValueError(f'{cfg.filename}: the config sets no input_size; give --input-size')


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='a detector config (or nas_backbones::NAME)')
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--checkpoint', help='trained weights (default: the config\'s initialisation)')
    p.add_argument('--part', choices=PARTS, default='detector')
    p.add_argument('--input-size', type=int, help='square input side (default: the config\'s input_size)')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--opset', type=int, default=OPSET)
    p.add_argument('--rtol', type=float, default=1e-3,
                   help='largest ONNX Runtime vs PyTorch difference, relative to the output\'s magnitude')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    try:
        require_onnx()
        config = resolve_config(args.config)
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        if args.checkpoint is not None and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'--checkpoint: file not found: {args.checkpoint}')
        cfg = Config.fromfile(config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        module = build_for_export(cfg, args.part, args.checkpoint)
        size = input_size_of(cfg, args.input_size)
    except (ImportError, FileNotFoundError, KeyError, TypeError, ValueError) as e:
        p.exit(2, f'{p.prog}: error: {e}\n')
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, size, size)
    with torch.no_grad():
        names = module.output_names(x)
    export_onnx(module, x, args.out, input_names=['input'], output_names=names, opset=args.opset)
    check = compare_with_torch(module, args.out, x)
    report = dict(onnx=args.out, part=args.part, input=list(x.shape), outputs=names,
                  preprocess=preprocess_settings(cfg), check=check)
    print(json.dumps(report, default=str))  # one line, the last one on success
    if check['max_rel_diff'] > args.rtol:
        print(f'{args.out}: ONNX Runtime differs from PyTorch by {check["max_rel_diff"]:.3g} of an '
              f'output\'s magnitude (> --rtol {args.rtol})', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
