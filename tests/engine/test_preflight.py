"""Config mistakes named before the first step: misspelt keys, neck channels, class counts, --resume."""
import glob
from pathlib import Path

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

import nas_backbones  # noqa: F401
from nas_backbones.engine.launch import load_train_config, train_arg_parser
from nas_backbones.engine.preflight import RUNNER_KEYS, misspelt_keys, neck_problem
from nas_backbones.engine.runner import NASRunner
from tests.conftest import ROOT, tiny_search_cfg

CONFIGS = sorted(glob.glob(str(ROOT / 'configs' / '**' / '*.py'), recursive=True))


# ---------------------------------------------------------------- top-level keys
@pytest.mark.parametrize('typo,known', [('modle', 'model'), ('mdoel', 'model'),
                                        ('train_dataloder', 'train_dataloader'),
                                        ('optim_wraper', 'optim_wrapper'),
                                        ('defualt_hooks', 'default_hooks'),
                                        ('custom_hook', 'custom_hooks'),
                                        ('paramscheduler', 'param_scheduler')])
def test_misspelt_key_gets_the_nearest_known_name(typo, known):
    assert misspelt_keys([typo, 'model', 'data_root']) == {typo: known}


def test_no_config_of_the_project_is_warned_about():
    """Parse-time variables (train_pipeline, arch_dataloader, crop_size, ...) are not typos."""
    for path in CONFIGS:
        assert misspelt_keys(Config.fromfile(path).keys()) == {}, path


def test_runner_warns_about_a_misspelt_key_in_its_log(tmp_path):
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    cfg.modle = dict(backbone=dict(C=8))
    cfg.work_dir = str(tmp_path)
    runner = NASRunner.from_cfg(cfg)
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert "config key 'modle' is not read by anything: did you mean 'model'?" in log
    assert set(cfg.keys()) - RUNNER_KEYS - {'modle'}  # other variables there, not warned about
    assert log.count('is not read by anything') == 1


# ---------------------------------------------------------------------- the neck
def coco_model_cfg(**backbone):
    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_coco.py'))
    cfg.model.backbone.update(backbone)
    return cfg


@pytest.mark.parametrize('backbone,have', [(dict(C=32), [128, 256, 512]),
                                           (dict(out_indices=(2, 3)), [384, 768])])
def test_backbone_changed_without_the_neck_is_named_at_build_time(backbone, have, tmp_path):
    cfg = coco_model_cfg(**backbone)
    cfg.work_dir = str(tmp_path)
    with pytest.raises(ValueError) as error:
        NASRunner.from_cfg(cfg)
    assert str(error.value).startswith('model.neck.in_channels=[192, 384, 768] does not match the backbone: '
                                       'DartsBackbone with out_indices=')
    assert f'gives {have} channels. Set model.neck.in_channels={have}' in str(error.value)


def test_neck_message_gives_every_field_to_set():
    cfg = coco_model_cfg(C=32)
    problem = neck_problem(cfg.model, MODELS.build(cfg.model))
    assert ('Set model.neck.in_channels=[128, 256, 512], and model.neck.out_channels=[128, 256, 512, '
            '512, 256, 256] (SSDNeck passes the backbone maps through first), and '
            'model.bbox_head.in_channels=[128, 256, 512, 512, 256, 256].') in problem
    # following the message builds a consistent detector
    fixed = [128, 256, 512, 512, 256, 256]
    cfg.model.neck.update(in_channels=fixed[:3], out_channels=fixed)
    cfg.model.bbox_head.in_channels = fixed
    assert neck_problem(cfg.model, MODELS.build(cfg.model)) is None


def test_anchor_strides_that_disagree_with_the_backbone_are_named():
    cfg = coco_model_cfg()
    cfg.model.bbox_head.anchor_generator.strides = [16, 32, 64, 100, 150, 300]
    problem = neck_problem(cfg.model, MODELS.build(cfg.model))
    assert 'anchor_generator.strides starts with [16, 32, 64], but' in problem
    assert 'set the first 3 anchor strides to [8, 16, 32]' in problem


# ------------------------------------------------------------------ class counts
def test_too_few_classes_stop_before_the_first_step(tmp_path):
    runner = NASRunner.from_cfg(tiny_search_cfg(tmp_path, num_classes=2))
    with pytest.raises(ValueError, match=r'model\..*num_classes=2, but train_dataloader.dataset '
                                         r'\(ImageNetDataset .*images\) has 3 classes: labels 2..2 '
                                         r'would be out of range. Set model\..*num_classes=3'):
        runner.train()
    assert runner.iter == 0 and not list((tmp_path / 'work').glob('*.pth'))


def test_more_classes_than_the_data_has_is_a_warning(tmp_path):
    runner = NASRunner.from_cfg(tiny_search_cfg(tmp_path, num_classes=5))
    runner.train()
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert 'num_classes=5, but train_dataloader.dataset' in log and '2 output(s) will never be trained' in log
    assert 'num_classes=5, but train_cfg.arch_dataloader.dataset' in log
    assert runner.iter == 3


def test_detector_class_count_against_coco_metainfo(tmp_path):
    from nas_backbones.engine.preflight import class_count_problems

    class Data:
        metainfo = dict(classes=('x', 'y', 'z'))
        ann_file = 'ann/train.json'

    cfg = Config.fromfile(str(ROOT / 'configs/ssd_pcdarts_demo.py'))
    assert class_count_problems(cfg.model, {'train_dataloader.dataset': Data()}) == ([], [])
    cfg.model.bbox_head.num_classes = 2
    errors, _ = class_count_problems(cfg.model, {'train_dataloader.dataset': Data()})
    assert errors and errors[0].startswith('model.bbox_head.num_classes=2, but train_dataloader.dataset '
                                           '(Data ann/train.json) has 3 classes')


# ------------------------------------------------------------------------ resume
def train_args(tmp_path, *argv):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = '{ROOT}/configs/ssd_pcdarts_demo.py'\n")
    return train_arg_parser('t').parse_args([str(cfg), *argv])


def test_resume_of_a_work_dir_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'--resume: work dir .*typo does not exist, so there '
                                                r'is nothing to resume'):
        load_train_config(train_args(tmp_path, '--work-dir', str(tmp_path / 'typo'), '--resume'))
    with pytest.raises(FileNotFoundError, match='--resume: checkpoint not found'):
        load_train_config(train_args(tmp_path, '--resume', str(tmp_path / 'nope.pth')))


def test_resume_with_nothing_to_resume_says_so_and_starts(tmp_path):
    (tmp_path / 'work').mkdir()
    cfg = load_train_config(train_args(tmp_path, '--work-dir', str(tmp_path / 'work'), '--resume'))
    assert cfg.resume is True and cfg.load_from is None
    runner = NASRunner.from_cfg(cfg)
    runner.load_or_resume()
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert f'resume: nothing to resume in {tmp_path / "work"} (no checkpoint there yet); starting from scratch' in log
    assert 'Auto resumed from the latest checkpoint None' not in log


# ------------------------------------------------------------- premises of the run
def test_the_two_splits_of_a_search_must_not_share_images(tmp_path):
    cfg = tiny_search_cfg(tmp_path, num_classes=3)
    cfg.train_cfg.arch_dataloader.dataset.data_prefix = cfg.train_dataloader.dataset.data_prefix
    runner = NASRunner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'train_dataloader.dataset \(ImageNetDataset .*images, 12 images\) and '
                                         r'train_cfg.arch_dataloader.dataset \(.*\) are the same images '
                                         r'\(e.g. .*a/0.png\): the architecture step would be tuned on the '
                                         r'images the weights are fitted to'):
        runner.train()
    assert runner.iter == 0 and not list((tmp_path / 'work').glob('*.pth'))


def test_overlapping_coco_splits_are_named():
    from nas_backbones.engine.preflight import split_overlap_problem

    class Coco:
        ann_file = 'ann/x.json'

        def __init__(self, *names):
            self.names = names

        def __len__(self):
            return len(self.names)

        def get_data_info(self, i):
            return dict(img_path=f'/data/img/{self.names[i]}', instances=[])

    assert split_overlap_problem(Coco('a', 'b'), Coco('c')) is None
    problem = split_overlap_problem(Coco('a', 'b', 'c'), Coco('c', 'd'))
    assert 'share 1 images (e.g. /data/img/c)' in problem and 'tools/dataset/coco_split.py' in problem


@pytest.mark.parametrize('path,change,message', [
    ('configs/search/pcdarts_tiny_imagenet.py', dict(train_cfg=dict(arch_warmup_epochs=4)),
     r'train_cfg.arch_warmup_epochs=4 covers the whole search \(train_cfg.max_epochs=4\): no architecture '
     r'step would run'),
    ('configs/search/spnas_tiny_imagenet.py', dict(model=dict(space=dict(arch=dict(warmup_epochs=9)))),
     r"model.space.arch.warmup_epochs=9 covers the whole search \(train_cfg.max_epochs=\d+\): the "
     r"architecture's cost term never turns on"),
    ('configs/ssd_pcdarts_demo.py', dict(model=dict(bbox_head=dict(anchor_generator=dict(input_size=300)))),
     r"train_dataloader.dataset.pipeline\[2\] resizes images to \(192, 192\), but "
     r'model.bbox_head.anchor_generator.input_size=300'),
])
def test_a_run_whose_premise_is_broken_is_refused_when_built(tmp_path, path, change, message):
    cfg = Config.fromfile(str(ROOT / path))
    cfg.merge_from_dict(change)
    cfg.work_dir = str(tmp_path)
    with pytest.raises(ValueError, match=message):
        NASRunner.from_cfg(cfg)


def test_no_config_of_the_project_breaks_a_premise():
    from nas_backbones.engine.preflight import config_problems
    for path in CONFIGS:
        assert config_problems(Config.fromfile(path)) == [], path


def test_search_tool_refuses_a_training_config(tmp_path):
    from nas_backbones.engine.launch import main_train
    with pytest.raises(ValueError, match=r'ssd_pcdarts_demo.py is not a search config: it has no '
                                         r'DerivationHook in custom_hooks, so tools/search.py would train '
                                         r'its model \(SingleStageDetector\)'):
        main_train('t', [str(ROOT / 'configs/ssd_pcdarts_demo.py'), '--work-dir', str(tmp_path / 'w')],
                   search=True)
    assert not (tmp_path / 'w').exists()
