"""The network-level search on a PostgreSQL server (what workers on several machines share): the test
starts its own server on 127.0.0.1 in a temporary folder, and checks what the SQLite test checks."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import free_port, kill_and_resume_network_search, network_search_cfg

SERVER_TOOLS = ('initdb', 'pg_ctl', 'createdb')


def missing(what: str):
    """Skip, naming what to install; under CI=true a failure (.ci/run installs it)."""
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(f'{what}, and CI=true, so this is a failure, not a skip')
    pytest.skip(what)


def server_bin() -> Path:
    """The folder of PostgreSQL's server programs: on PATH, or Debian's /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which('initdb')
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if versions:
        return Path(versions[-1]).parent
    missing('the PostgreSQL test needs the server programs (initdb, pg_ctl): install Debian\'s '
            '`postgresql` package (apt-get install postgresql)')


@pytest.fixture(scope='module')
def postgres_url():
    """A throw-away PostgreSQL cluster on 127.0.0.1 (a free port), stopped and deleted afterwards.
    The server refuses to run as root, so under root it runs as the unprivileged user ``nobody``."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        missing("the PostgreSQL test needs the driver: pip install 'nas_backbones[postgres]' "
                '(psycopg2-binary)')
    bindir = server_bin()
    for tool in SERVER_TOOLS:
        if not (bindir / tool).exists():
            missing(f'{bindir} has no {tool}: install Debian\'s `postgresql` package')
    run_as = {}
    root = Path(tempfile.mkdtemp(prefix='nas_pg_'))  # under /tmp: reachable by an unprivileged user
    if os.geteuid() == 0:
        user = pwd.getpwnam('nobody')
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    data, log = root / 'data', root / 'server.log'
    try:
        subprocess.run([str(bindir / 'initdb'), '-D', str(data), '-U', 'postgres', '--auth=trust',
                        '--no-sync', '-E', 'UTF8'], check=True, capture_output=True, cwd=root, **run_as)
        for attempt in range(3):  # a port taken between free_port() and the server's bind: again
            port = free_port()
            opts = f'-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off'
            r = subprocess.run([str(bindir / 'pg_ctl'), '-D', str(data), '-l', str(log), '-o', opts,
                                '-w', '-t', '60', 'start'], capture_output=True, cwd=root, **run_as)
            if r.returncode == 0:
                break
        else:
            pytest.fail(f'PostgreSQL did not start: {r.stderr.decode()} {log.read_text()[-2000:]}')
        try:
            subprocess.run([str(bindir / 'createdb'), '-h', '127.0.0.1', '-p', str(port), '-U', 'postgres',
                            'nas'], check=True, capture_output=True)
            yield f'postgresql+psycopg2://postgres@127.0.0.1:{port}/nas'
        finally:
            subprocess.run([str(bindir / 'pg_ctl'), '-D', str(data), '-m', 'immediate', '-w', 'stop'],
                           capture_output=True, cwd=root, **run_as)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # a server and about 20 trials in two processes (about 70 s)
def test_two_workers_share_a_server_study_and_a_killed_run_resumes(postgres_url, tmp_path):
    """Two worker processes fill one study on the server; one is killed mid-trial while the other goes
    on and retries its trial (heartbeats); a restart finishes the study and evaluates no finished
    network again. (The SQLite test kills both.)"""
    cfg = network_search_cfg(objectives=['macs', 'latency'], n_trials=20, workers=2,
                             latency=dict(source='measured', repeats=20), storage=postgres_url,
                             study_name='tiny')
    cfg_path = tmp_path / 'search.py'
    cfg.dump(str(cfg_path))
    kill_and_resume_network_search(cfg_path, tmp_path / 'work', postgres_url, n_trials=20, kill='one')
    assert not (tmp_path / 'work' / 'study.db').exists()  # the study lives on the server only


def test_without_the_server_programs_it_skips_naming_the_package_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    monkeypatch.setattr(glob, 'glob', lambda pattern: [])
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match="Debian's `postgresql` package"):
        server_bin()
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match='CI=true, so this is a failure'):
        server_bin()
