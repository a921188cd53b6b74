"""ImageNet-format classification data: a folder per class, or a list file.

Folder layout: ``root/<class>/*.JPEG`` (ImageNet) or ``root/<class>/images/*.JPEG``
(Tiny-ImageNet); classes are the sorted folder names, as torchvision's
``ImageFolder`` (and so the reference) orders them.

List layout: ``ann_file`` lines ``relative/path label`` with paths relative to
``data_prefix`` and ``label`` an index into the classes file (one name a line).
This is what ``tools/dataset/imagenet_subset.py`` writes.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ..utils.progress import Progress
from .samplers import SeededSamples

# What the image loader decodes (OpenCV >= 4.11 reads GIF: the first frame).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.gif')

Sample = tuple[str, int]  # (path relative to the image root, label)


def read_classes(path: Union[str, os.PathLike]) -> list[str]:
    """Class names, one a line (blank lines at the end are ignored)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'classes file not found: {path}')
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            raise ValueError(f'{path}:{n}: empty class name')
        if name in seen:
            raise ValueError(f'{path}:{n}: class {name!r} already named on line {seen[name]}')
        seen[name] = n
        names.append(name)
    if not names:
        raise ValueError(f'classes file {path} names no class')
    return names


def class_image_dir(root: str, name: str) -> str:
    """Where a class's images are: ``root/<name>/images`` if it exists (Tiny-ImageNet), else ``root/<name>``."""
    folder = os.path.join(root, name)
    images = os.path.join(folder, 'images')
    return images if os.path.isdir(images) else folder


def scan_image_folder(root: Union[str, os.PathLike],
                      classes: Optional[Sequence[str]] = None,
                      progress: bool = False) -> tuple[list[str], list[list[Sample]]]:
    """The classes under ``root`` and, per class, its images (sorted, relative to ``root``).

    With ``classes`` given, their order sets the labels and every class folder
    under ``root`` must be one of them. Files that are not images by their
    extension are left out, and counted and named in one warning. The
    progress bar is drawn on a terminal only.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f'image folder not found: {root}')
    folders = sorted(e.name for e in os.scandir(root)
                     if e.is_dir() and not e.name.startswith('.'))
    if classes is None:
        if not folders:
            raise ValueError(f'{root}: no class folders (expected {root}/<class>/*.JPEG '
                             f'or {root}/<class>/images/*.JPEG)')
        classes = folders
    else:
        classes = list(classes)
        missing = [c for c in classes if c not in folders]
        if missing:
            raise FileNotFoundError(f'{root}: no folder for class(es) {missing[:5]}'
                                    + (f' and {len(missing) - 5} more' if len(missing) > 5 else ''))
        extra = sorted(set(folders) - set(classes))
        if extra:
            raise ValueError(f'{root}: folder(s) {extra[:5]} are not in the class list')
    bar = Progress(len(classes) if progress else 0)
    per_class: list[list[Sample]] = []
    skipped: dict[str, list[str]] = {}  # extension -> files left out
    for label, name in enumerate(classes):
        img_dir = class_image_dir(root, name)
        rel_dir = os.path.relpath(img_dir, root).replace(os.sep, '/')
        files = []
        for e in os.scandir(img_dir):
            if not e.is_file() or e.name.startswith('.'):
                continue
            if e.name.lower().endswith(IMG_EXTENSIONS):
                files.append(e.name)
            else:
                ext = os.path.splitext(e.name)[1].lower() or '(no extension)'
                skipped.setdefault(ext, []).append(f'{rel_dir}/{e.name}')
        if not files:
            raise ValueError(f'class folder {img_dir} has no images '
                             f'(looked for {", ".join(IMG_EXTENSIONS)})')
        per_class.append([(f'{rel_dir}/{f}', label) for f in sorted(files)])
        bar.update()
    bar.close()
    if skipped:
        total = sum(len(v) for v in skipped.values())
        kinds = ', '.join(f'{len(v)} {ext}' for ext, v in sorted(skipped.items()))
        example = sorted(min(v) for v in skipped.values())[0]
        print_log(f'{root}: left out {total} file(s) that are not images by their extension '
                  f'({kinds}), e.g. {example}', logger='current', level=30)
    return list(classes), per_class


def read_image_list(ann_file: Union[str, os.PathLike], img_root: str, num_classes: int,
                    check_files: bool = True) -> list[Sample]:
    """Parse ``relative/path label`` lines; every fault names the file and line."""
    ann_file = os.fspath(ann_file)
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f'annotation list not found: {ann_file}')
    samples: list[Sample] = []
    with open(ann_file, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.rsplit(maxsplit=1)  # paths may hold spaces; the label never does
            if len(parts) != 2:
                raise ValueError(f'{ann_file}:{n}: expected "relative/path label", got {line!r}')
            rel, label_text = parts
            try:
                label = int(label_text)
            except ValueError:
                raise ValueError(f'{ann_file}:{n}: label {label_text!r} is not an integer') from None
            if not 0 <= label < num_classes:
                raise ValueError(f'{ann_file}:{n}: label {label} out of range for '
                                 f'{num_classes} classes (valid: 0..{num_classes - 1})')
            if check_files and not os.path.isfile(os.path.join(img_root, rel)):
                raise FileNotFoundError(f'{ann_file}:{n}: image {os.path.join(img_root, rel)} '
                                        'does not exist')
            samples.append((rel, label))
    if not samples:
        raise ValueError(f'annotation list {ann_file} has no samples')
    return samples


@DATASETS.register_module()
class ImageNetDataset(SeededSamples, BaseDataset):
    """ImageNet-format classification data, either layout (see the module docstring).

    Args:
        data_root: joined in front of relative ``ann_file``, ``data_prefix`` and ``classes``.
        data_prefix: the image root (a string or ``dict(img_path=...)``).
        ann_file: a list file; empty for the folder layout.
        classes: class names, or a file of them. Folder layout: defaults to the
            sorted folder names. List layout: defaults to ``classes.txt`` beside
            ``ann_file``.
        check_files: list layout: check that every listed image exists.
        **kwargs: the rest of :class:`mmengine.dataset.BaseDataset`'s options
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 ann_file: str = '',
                 classes: Union[None, str, Sequence[str]] = None,
                 check_files: bool = True,
                 **kwargs) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        if set(data_prefix) != {'img_path'}:
            raise ValueError(f'ImageNetDataset: data_prefix takes only img_path, got {data_prefix}')
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if classes is None:
            classes = metainfo.get('classes')
        if isinstance(classes, str) and not os.path.isabs(classes) and data_root:
            classes = os.path.join(data_root, classes)
        self._classes_spec = classes
        self.check_files = check_files
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def _resolve_classes(self) -> Optional[list[str]]:
        spec = self._classes_spec
        if spec is None:
            return None
        if isinstance(spec, (str, os.PathLike)):
            return read_classes(spec)
        names = [str(c) for c in spec]
        if not names:
            raise ValueError('ImageNetDataset: classes is empty')
        return names

    def load_data_list(self) -> list[dict]:
        img_root = self.data_prefix['img_path'] or self.data_root or '.'
        classes = self._resolve_classes()
        if self.ann_file:
            if classes is None:
                beside = os.path.join(os.path.dirname(self.ann_file), 'classes.txt')
                if not os.path.isfile(beside):
                    raise FileNotFoundError(
                        f'ImageNetDataset: list {self.ann_file} needs class names: pass classes= '
                        f'(a list or a file) or put a classes.txt beside it ({beside} not found)')
                classes = read_classes(beside)
            samples = read_image_list(self.ann_file, img_root, len(classes), self.check_files)
        else:
            classes, per_class = scan_image_folder(img_root, classes)
            samples = [s for group in per_class for s in group]
        self._metainfo['classes'] = tuple(classes)
        return [dict(img_path=os.path.join(img_root, rel), gt_label=label)
                for rel, label in samples]
