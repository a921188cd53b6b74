"""The main job, end to end on data it generates: search a cell, then train and evaluate SSD with it.

    python tools/demo.py [--work-dir work_dirs/demo] [--skip-search] [--search-on crops|detection]

1. data/synthetic_coco: a generated detection set (coloured shapes, COCO format);
2. data/synthetic_crops: its object crops in ImageNet folder layout, and per-class
   subset lists for the two search splits (tools/dataset/imagenet_subset.py);
   with ``--search-on detection``: two disjoint image subsets of its train set
   (tools/dataset/coco_split.py -> data/synthetic_coco_search) instead;
3. a PC-DARTS search on the crops (tools/search.py, configs/search/pcdarts_demo.py), or,
   with ``--search-on detection``, inside SSD on the detector's loss
   (configs/search/pcdarts_ssd_demo.py) -> WORK_DIR/search/genotype.json;
4. SSD with a backbone built from that genotype (configs/ssd_pcdarts_demo.py),
   trained and validated (tools/train.py), then tested from its checkpoint
   (tools/test.py): each ends with the COCO mAP table.
Each step is the command a user would type; they are printed as they run.

Threads: the steps run one after another, each one process; their torch threads are chosen
once, here, before the demo loads the machine itself (nas_backbones.utils.threads: the cores
this process may use less the busy ones), and passed on as OMP_NUM_THREADS. Chosen by each
step instead, the load average would count the previous step as other work. An
OMP_NUM_THREADS already set is kept. A work dir that holds an earlier demo's results is
refused unless --overwrite.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # nas_backbones from this checkout, as the steps import it

from nas_backbones.utils.threads import available_cores, busy_cores, threads_per_process  # noqa: E402


def step_environment() -> dict:
    """The environment of the steps: OMP_NUM_THREADS chosen for one training process at a time."""
    env = dict(os.environ)
    if env.get('OMP_NUM_THREADS'):
        print(f'threads: OMP_NUM_THREADS={env["OMP_NUM_THREADS"]} is set; each step runs that many', flush=True)
        return env
    cores, busy = available_cores(), busy_cores()
    env['OMP_NUM_THREADS'] = str(threads_per_process(1, cores, busy))
    print(f'threads: each step runs {env["OMP_NUM_THREADS"]} (OMP_NUM_THREADS): {cores} core(s) this '
          f'process may use, {min(busy, cores)} busy with other work', flush=True)
    return env


def run(*args: str, env=None) -> None:
    cmd = [sys.executable, *args]
    print('\n$ python ' + ' '.join(args), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--skip-search', action='store_true',
                   help='train SSD with the published PC_DARTS_image cell instead of searching')
    p.add_argument('--search-on', choices=('crops', 'detection'), default='crops',
                   help="search on object crops (classification, the default) or inside SSD on the "
                        "detector's loss")
    p.add_argument('--overwrite', action='store_true',
                   help='replace the results of an earlier demo in the work dir (without it, they are '
                        'kept and the demo refuses to start)')
    args = p.parse_args()
    wd = args.work_dir
    from nas_backbones.engine.launch import refuse_earlier_result
    for sub in ('search', 'ssd'):
        refuse_earlier_result(osp.join(ROOT, wd, sub), overwrite=args.overwrite, resumable=False)
    again = ['--overwrite'] if args.overwrite else []
    env = step_environment()
    coco = 'data/synthetic_coco'
    if not osp.isfile(osp.join(ROOT, coco, 'annotations/instances_val.json')):
        run('tools/dataset/make_synthetic_coco.py', coco, env=env)
    genotype = 'PC_DARTS_image'
    if not args.skip_search and args.search_on == 'detection':
        run('tools/dataset/coco_split.py', f'{coco}/annotations/instances_train.json', '--out',
            'data/synthetic_coco_search', '--train-frac', '0.25', '--val-frac', '0.25', '--seed', '0', env=env)
        run('tools/search.py', 'configs/search/pcdarts_ssd_demo.py', '--work-dir', f'{wd}/search', *again,
            env=env)
        genotype = f'{wd}/search/genotype.json'
    elif not args.skip_search:
        if not osp.isdir(osp.join(ROOT, 'data/synthetic_crops')):
            run('tools/dataset/export_crops.py', f'{coco}/annotations/instances_train.json',
                f'{coco}/train', 'data/synthetic_crops', env=env)
        run('tools/dataset/imagenet_subset.py', 'data/synthetic_crops', '--out',
            'data/synthetic_crops_search', '--train-frac', '0.25', '--val-frac', '0.25', '--seed', '0', env=env)
        run('tools/search.py', 'configs/search/pcdarts_demo.py', '--work-dir', f'{wd}/search', *again,
            env=env)
        genotype = f'{wd}/search/genotype.json'
    ssd_dir = f'{wd}/ssd'
    run('tools/train.py', 'configs/ssd_pcdarts_demo.py', '--work-dir', ssd_dir, *again,
        '--cfg-options', f'model.backbone.genotype={genotype}', env=env)
    with open(osp.join(ROOT, ssd_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    # The checkpoint records the genotype it was trained with: tools/test.py takes it from there.
    run('tools/test.py', 'configs/ssd_pcdarts_demo.py', ckpt, '--work-dir', f'{ssd_dir}/test', env=env)
    print(f'\ndone: genotype {genotype}, detector {ckpt}')
    return 0


if __name__ == '__main__':
    from nas_backbones.engine.launch import run_tool
    sys.exit(run_tool(main))
