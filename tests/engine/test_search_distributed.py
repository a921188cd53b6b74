"""Distributed search on the CPU (gloo): two real processes, and the rank-agreement check."""
import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import nas_backbones  # noqa: F401
from nas_backbones.compat import checkpoint_loading
from nas_backbones.engine.derivation_hook import check_ranks_agree
from nas_backbones.spaces.darts import DEFAULT_PRIMITIVES, ArchParameters
from tests.conftest import ROOT, free_port, tiny_imagenet_search_config


def _agree_worker(rank, port, perturb, result):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    torch.manual_seed(0)
    arch = ArchParameters(4, DEFAULT_PRIMITIVES, 4)
    if perturb and rank == 1:
        with torch.no_grad():
            arch.alphas_normal[3, 2] += 1e-4
    try:
        check_ranks_agree(arch, epoch=7)
        result[rank] = 'ok'
    except RuntimeError as e:
        result[rank] = str(e)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('perturb', [False, True])
def test_rank_check_stops_every_rank_when_alpha_differs(perturb):
    result = mp.Manager().dict()
    mp.spawn(_agree_worker, args=(free_port(), perturb, result), nprocs=2)
    if perturb:
        for r in (0, 1):
            assert 'differ between ranks at epoch 7' in result[r]
    else:
        assert dict(result) == {0: 'ok', 1: 'ok'}


def _latency_worker(rank, port, result):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        from tests.conftest import darts_search
        algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=8, layers=3),
                           cost=dict(metric='latency', weight=0.5, input_size=64))
        cost = algo.space.resource_cost
        result[rank] = (cost.cost_normal.tolist(), cost.normalizer)
    finally:
        dist.destroy_process_group()


def test_latency_costs_are_measured_once_and_shared_by_the_ranks():
    """Two ranks timing the ops themselves would optimise different losses (second order: different alpha)."""
    result = mp.Manager().dict()
    mp.spawn(_latency_worker, args=(free_port(), result), nprocs=2)
    assert result[0] == result[1]
    assert sum(map(sum, result[0][0])) > 0


@pytest.mark.slow
def test_two_process_cpu_search_ranks_agree(tiny_imagenet, tmp_path):
    # train_cfg updated in place: a second `train_cfg = dict(...)` would drop its arch_dataloader.
    # With a latency cost in the architecture loss (rank 0 measures the table, see below).
    cfg = tiny_imagenet_search_config(tiny_imagenet, tmp_path,
                                      "\ntrain_cfg['max_epochs'] = 2\n"
                                      f"model['space']['cost'] = dict(metric='latency', weight=0.5, "
                                      f"input_size=32, latency_table='{tmp_path / 'latency.json'}')\n")
    # The README's command; the tiny config already selects the gloo backend.
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'tools/dist_search.sh', str(cfg), '2', '--work-dir', str(tmp_path / 'work')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-12000:]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert log.count('architecture parameters are identical on all 2 ranks') == 2  # checked at each epoch end
    history = json.loads((tmp_path / 'work/search_history.json').read_text())['history']
    assert [h['epoch'] for h in history] == [1, 2] and history[1]['arch_active']
    # The GenotypeHook compared the ranks' alpha/beta at each epoch end and found them equal;
    # the checkpoint (rank 0's) derives the genotype both ranks logged.
    assert json.loads((tmp_path / 'latency.json').read_text())['entries']  # written once, by rank 0
    assert 'cost:' in log
    with checkpoint_loading():
        ckpt = torch.load(tmp_path / 'work/epoch_2.pth', weights_only=True)
    assert ckpt['meta']['search_history'][-1]['genotype'] == history[-1]['genotype']


@pytest.mark.slow
def test_slurm_launcher_runs_a_one_task_search_on_cpu(tiny_imagenet, tmp_path):
    """srun's variables for one task on one CPU node: the search starts its own gloo group (mmengine's
    slurm set-up would divide by the number of GPUs) and runs as a distributed job of one rank."""
    cfg = tiny_imagenet_search_config(tiny_imagenet, tmp_path,
                                      "\ntrain_cfg['max_epochs'] = 1\ntrain_cfg['arch_warmup_epochs'] = 0\n")
    env = dict(os.environ, SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
               SLURM_NODELIST='cpu-node-1', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()),
               OMP_NUM_THREADS='1')
    env.pop('RANK', None), env.pop('WORLD_SIZE', None)
    proc = subprocess.run([sys.executable, 'tools/search.py', str(cfg), '--launcher', 'slurm',
                           '--work-dir', str(tmp_path / 'work')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-12000:]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert 'architecture parameters are identical on all 1 ranks' in log
    assert (tmp_path / 'work/genotype.json').is_file()


def test_slurm_environment_names_what_is_missing(monkeypatch, tmp_path):
    from nas_backbones.engine.launch import slurm_environment
    for var in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST', 'MASTER_ADDR', 'MASTER_PORT',
                'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'SLURM_LOCALID'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '3')
    with pytest.raises(KeyError, match='SLURM_NTASKS, SLURM_NODELIST not set'):
        slurm_environment()
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_NODELIST', 'node[1-2]')
    monkeypatch.setenv('PATH', str(tmp_path))  # no scontrol
    with pytest.raises(RuntimeError, match="cannot resolve SLURM_NODELIST='node\\[1-2\\]'.*set MASTER_ADDR"):
        slurm_environment()
    monkeypatch.setenv('MASTER_ADDR', '10.0.0.1')
    slurm_environment(port=1234)
    assert [os.environ[v] for v in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT')] == \
        ['3', '4', '0', '1234']
