"""Train candidate backbones in the same detector with several seeds and compare them against chance.

    python tools/against_chance.py configs/templates/ssd_my_data.py \
        --candidate searched=work_dirs/my_search/genotype.json --candidate PC_DARTS_image \
        --random 5 --matched 5 --match-to searched --seeds 0 1 --workers 2 \
        --work-dir work_dirs/chance_my_data [--match-by macs|param_free] [--band 0.1] \
        [--cfg-options train_cfg.max_epochs=30 ...]

CONFIG is any detector (or classifier) config whose ``model.backbone`` takes a
search result: ``DartsBackbone`` (``genotype``) or ``SinglePathBackbone``
(``arch``). ``--candidate NAME=SPEC`` (SPEC: a result file or a published name
such as PC_DARTS_image, DARTS_V2, SPNAS_Pixel1; a bare SPEC names itself).
``--random N``: N results drawn uniformly from the space; ``--matched N``: N
random results matched in cost to the candidate ``--match-to`` (backbone MACs
within ``--band``, or for cells the same count of parameter-free genes).
Every candidate is trained with every seed of ``--seeds`` (``randomness.seed``;
the random and matched ones with ``--random-seeds`` where given) and tested
on the config's test dataloader; ``--workers`` trainings run at once, each in
its own process. Writes WORK_DIR/chance.md (the table and the
verdicts), chance.json and chance.png; running the same command again resumes
(finished trainings are kept; new candidates or seeds are added).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction

import nas_backbones  # noqa: F401  registers the modules and the space families
from nas_backbones.evaluation.candidates import CandidateError
from nas_backbones.evaluation.chance import Request, compare, parse_candidate


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='detector config whose backbone takes a search result')
    p.add_argument('--candidate', action='append', default=[], metavar='NAME=SPEC',
                   help='a candidate: NAME=a result file or a published name (repeatable)')
    p.add_argument('--random', type=int, default=0, metavar='N', help='uniform random candidates (default 0)')
    p.add_argument('--matched', type=int, default=0, metavar='N',
                   help='random candidates matched in cost to --match-to (default 0)')
    p.add_argument('--match-to', metavar='NAME', help='the --candidate the matched ones are matched to')
    p.add_argument('--match-by', default='macs', help="'macs' (backbone MACs within --band; default) or, "
                   "for cells, 'param_free' (as many parameter-free genes per cell)")
    p.add_argument('--band', type=float, default=0.1,
                   help='with --match-by macs: relative band around the reference\'s MACs (default 0.1)')
    p.add_argument('--draw-seed', type=int, default=0, help='seed of the random draws (default 0)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0], help='training seeds (default 0)')
    p.add_argument('--random-seeds', type=int, nargs='+', metavar='SEED',
                   help='training seeds of the random and matched candidates (default: --seeds); '
                        'e.g. --seeds 0 1 2 --random-seeds 0 1')
    p.add_argument('--workers', type=int, default=1, help='trainings at once, one process each (default 1)')
    p.add_argument('--work-dir', help='default: work_dirs/chance_<config name>')
    p.add_argument('--metric', default='coco/bbox_mAP', help='test metric to compare (default coco/bbox_mAP)')
    p.add_argument('--input-size', type=int, nargs='+', metavar='N',
                   help='N or H W for the MACs (default: the config\'s input_size)')
    p.add_argument('--max-draws', type=int, default=200,
                   help='proposals per matched candidate before giving up (default 200)')
    p.add_argument('--report-only', action='store_true',
                   help='write the table from the trainings finished so far (the others: "not run"); '
                        'trains nothing, so it may run beside the command that trains')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides for every training, e.g. train_cfg.max_epochs=30')
    return p


def main(argv: Optional[Sequence[str]] = None) -> dict:
    import os.path as osp
    p = parser()
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f'--workers: an integer >= 1 (trainings at once), got {args.workers}')
    if not 0 < args.band < 1:
        p.error(f'--band: a fraction in (0, 1), got {args.band}')
    work_dir = args.work_dir or osp.join('work_dirs', 'chance_' + osp.splitext(osp.basename(args.config))[0])
    try:
        req = Request(config=args.config, work_dir=work_dir,
                      candidates=[parse_candidate(c) for c in args.candidate], random=args.random,
                      matched=args.matched, match_to=args.match_to, match_by=args.match_by, band=args.band,
                      draw_seed=args.draw_seed, seeds=args.seeds, random_seeds=args.random_seeds,
                      workers=args.workers,
                      cfg_options=args.cfg_options, metric=args.metric, input_size=args.input_size,
                      max_draws=args.max_draws, report_only=args.report_only)
        summary = compare(req)
    except CandidateError as e:
        p.exit(2, f'{p.prog}: error: {e}\n')
    failed = [(r['name'], k) for r in summary['rows'] for k in r['failed']]
    if failed:
        print(f'{len(failed)} training(s) failed or did not run (see chance.md); run the same command '
              'again to resume them', file=sys.stderr)
        sys.exit(1)
    return summary


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
