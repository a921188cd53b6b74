from setuptools import find_packages, setup

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
    extras_require={'tests': ['pytest', 'pytest-xdist>=3.5']},
)
