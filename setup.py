"""``pip install .`` (or a wheel) gives the package, its configs and tools inside it
(``nas_backbones/.mim/``, as MMDetection ships its own) and the ``nas-*`` console scripts."""
import ast
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
SHIPPED = ('configs', 'tools')  # -> nas_backbones/.mim/<name>, read by nas_backbones/package.py

# Optional parts (docs/stack.md says why each is what it is); 'tests' holds them all, so that
# tools/setup_env.sh's environment runs every test.
OPTIONAL = {
    'onnx': ['onnx~=1.23.2', 'onnxruntime~=1.32.0'],   # tools/deployment/, --backend onnxruntime
    'tensorboard': ['tensorboard~=2.21.0'],            # TensorboardVisBackend
    'postgres': ['psycopg2-binary~=2.9.13'],           # network search on a PostgreSQL server
}
EXTRAS = dict(OPTIONAL, tests=['pytest', 'pytest-xdist>=3.5', 'ruff~=0.17.6']  # ruff: tests/test_lint.py
              + [r for rs in OPTIONAL.values() for r in rs])


def console_scripts() -> list:
    """``nas-train = nas_backbones.cli:nas_train``, ... from the COMMANDS table of nas_backbones/cli.py
    (read, not imported: importing the package needs torch)."""
    with open(osp.join(ROOT, 'nas_backbones', 'cli.py')) as f:
        tree = ast.parse(f.read())
    table = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', None) == 'COMMANDS')
    return [f'{c} = nas_backbones.cli:{c.replace("-", "_")}' for c in table]


class BuildPyWithConfigs(build_py):
    """Copies configs/ and tools/ into the built package. An editable install reads the clone's
    own folders instead (nas_backbones/package.py), so nothing is copied for it."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        for name in SHIPPED:
            dst = osp.join(self.build_lib, 'nas_backbones', '.mim', name)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(osp.join(ROOT, name), dst,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='nas_backbones',
    version='0.1.0',
    description='PC-DARTS / DARTS search of detection backbones for MMDetection',
    packages=find_packages(include=['nas_backbones', 'nas_backbones.*']),
    package_data={'nas_backbones.spaces.singlepath': ['tables/*.json']},
    python_requires='>=3.11,<3.12',
    # torch is pinned by tools/setup_env.sh (the CPU wheel); mmcv must be
    # built from source against it, so neither is resolved here.
    install_requires=['mmengine==0.10.7', 'mmdet==3.3.0', 'optuna==5.0.0', 'pycocotools'],
    extras_require=EXTRAS,
    entry_points={'console_scripts': console_scripts()},
    cmdclass={'build_py': BuildPyWithConfigs},
)
