"""Convert a Pascal-VOC-format detection set (one .xml per image) to a COCO json, with your classes.

    python tools/dataset/voc_to_coco.py VOC/Annotations --ids VOC/ImageSets/Main/train.txt \
        --img-dir VOC/JPEGImages --out data/mine/annotations/train.json
    (the same with val.txt and test.txt: the three files configs/templates/ssd_own_coco.py reads)

Classes: --classes a,b,c (or a file, one name a line) fixes the names and their order; without it
they are the sorted names found in ALL the .xml files of the folder, so the three splits agree.
Every category id is 1 + its index. Boxes: VOC's 1-based inclusive pixel corners become COCO
[x, y, w, h] with x = xmin - 1 and w = xmax - xmin + 1 (--zero-based for files that count from 0);
a box that would start at a negative coordinate is clipped to the image, with a warning.
A --classes that looks like a file name (classes.txt) but is no file is an error, not a class.
`difficult` objects are written as iscrowd=1 (ignored by training and by COCO evaluation, as
MMDetection's VOC metric ignores them); --difficult keep/drop writes them as ordinary boxes / drops
them. With --img-dir every image is checked to exist (and read for its size when the .xml has none).
MMDetection's own converter (tools/dataset_converters/pascal_voc.py) is for the VOC2007/2012 folder
layout and the 20 VOC classes only.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
import xml.etree.ElementTree as ET
from typing import Optional

from nas_backbones.utils.io import atomic_write_text

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


class VOCError(ValueError):
    pass


def _text(node: ET.Element, tag: str, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise VOCError(f'{where}: no <{tag}>')
    return child.text.strip()


def _number(node: ET.Element, tag: str, where: str) -> float:
    value = _text(node, tag, where)
    try:
        return float(value)
    except ValueError:
        raise VOCError(f'{where}: <{tag}> is {value!r}, not a number') from None


def parse_xml(path: str) -> dict:
    """The fields of one VOC annotation file that a COCO file needs; faults name the file."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise VOCError(f'{path}: not valid XML ({e})') from None
    size = root.find('size')
    width = height = 0
    if size is not None and size.find('width') is not None and size.find('height') is not None:
        width, height = int(_number(size, 'width', path)), int(_number(size, 'height', path))
    filename = root.findtext('filename', default='').strip()
    objects = []
    for k, obj in enumerate(root.findall('object'), 1):
        where = f'{path}: object {k}'
        box = obj.find('bndbox')
        if box is None:
            raise VOCError(f'{where}: no <bndbox>')
        corners = [_number(box, t, where) for t in ('xmin', 'ymin', 'xmax', 'ymax')]
        if corners[2] < corners[0] or corners[3] < corners[1]:
            raise VOCError(f'{where}: xmax/ymax {corners[2:]} below xmin/ymin {corners[:2]}')
        difficult = obj.findtext('difficult', default='0').strip() in ('1', 'true', 'True')
        objects.append(dict(name=_text(obj, 'name', where), corners=corners, difficult=difficult))
    return dict(filename=filename, width=width, height=height, objects=objects)


def read_names(spec: str) -> list[str]:
    if osp.isfile(spec):
        with open(spec, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
    elif ',' not in spec and ('/' in spec or os.sep in spec or osp.splitext(spec)[1].lower()
                              in ('.txt', '.names', '.csv', '.list', '.lst')):
        # A path, not a class name: taking 'classes.txt' for the one class would convert
        # every object to an error about an unknown class, or worse, nothing at all.
        raise VOCError(f'--classes {spec}: file not found (give an existing file of class names, '
                       'one a line, or the names themselves: --classes a,b,c)')
    else:
        names = [n.strip() for n in spec.split(',') if n.strip()]
    if not names:
        raise VOCError(f'--classes {spec!r} names no class')
    if len(set(names)) != len(names):
        raise VOCError(f'--classes {spec!r} names a class twice')
    return names


def find_image(img_dir: str, filename: str, stem: str, xml: str) -> str:
    """The image's file name relative to img_dir: <filename> if it is there, else stem.<ext>."""
    if filename and osp.isfile(osp.join(img_dir, filename)):
        return filename
    for ext in IMAGE_EXTENSIONS:
        for name in (stem + ext, stem + ext.upper()):
            if osp.isfile(osp.join(img_dir, name)):
                return name
    raise VOCError(f'{xml}: its image ({filename or stem + ".*"}) is not in {img_dir}')


def convert(ann_dir: str, out: str, ids: Optional[str] = None, img_dir: Optional[str] = None,
            classes: Optional[list[str]] = None, difficult: str = 'crowd',
            zero_based: bool = False) -> dict:
    if not osp.isdir(ann_dir):
        raise VOCError(f'annotation folder not found: {ann_dir}')
    all_xml = sorted(f for f in os.listdir(ann_dir) if f.lower().endswith('.xml'))
    if not all_xml:
        raise VOCError(f'{ann_dir}: no .xml files')
    if ids is not None:
        if not osp.isfile(ids):
            raise VOCError(f'--ids file not found: {ids}')
        with open(ids, encoding='utf-8') as f:
            stems = [line.split()[0] for line in f if line.strip()]
        missing = [s for s in stems if not osp.isfile(osp.join(ann_dir, s + '.xml'))]
        if missing:
            raise VOCError(f'{ids}: {len(missing)} id(s) have no .xml in {ann_dir}, e.g. {missing[:3]}')
    else:
        stems = [osp.splitext(f)[0] for f in all_xml]
    parsed = {s: parse_xml(osp.join(ann_dir, s + '.xml')) for s in stems}
    if classes is None:  # from every file of the folder, so that each split gets the same ids
        found = set()
        for f in all_xml:
            found.update(o['name'] for o in (parsed.get(osp.splitext(f)[0])
                                             or parse_xml(osp.join(ann_dir, f)))['objects'])
        classes = sorted(found)
        if not classes:
            raise VOCError(f'{ann_dir}: no <object> in any .xml, so no class to name')
    cat_id = {name: i + 1 for i, name in enumerate(classes)}
    shift = 0. if zero_based else 1.
    images, annotations, clipped = [], [], []
    for image_id, stem in enumerate(stems, 1):
        info, xml = parsed[stem], osp.join(ann_dir, stem + '.xml')
        file_name = info['filename'] or stem + '.jpg'
        width, height = info['width'], info['height']
        if img_dir is not None:
            file_name = find_image(img_dir, info['filename'], stem, xml)
            if not width or not height:
                import cv2
                img = cv2.imread(osp.join(img_dir, file_name))
                if img is None:
                    raise VOCError(f'{xml}: no <size>, and {osp.join(img_dir, file_name)} cannot be read')
                height, width = img.shape[:2]
        elif not width or not height:
            raise VOCError(f'{xml}: no <size>; pass --img-dir to read it from the image')
        images.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for k, obj in enumerate(info['objects'], 1):
            if obj['name'] not in cat_id:
                raise VOCError(f'{xml}: object {k} is a {obj["name"]!r}, which --classes does not '
                               f'name ({", ".join(classes)})')
            if obj['difficult'] and difficult == 'drop':
                continue
            x0, y0, x1, y1 = obj['corners']
            x, y = x0 - shift, y0 - shift
            w, h = x1 - x0 + shift, y1 - y0 + shift
            if x < 0 or y < 0:  # a corner left of / above the image: clipped to it, said below
                clipped.append((xml, k, obj['corners']))
                w, h, x, y = w + min(x, 0), h + min(y, 0), max(x, 0.), max(y, 0.)
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=cat_id[obj['name']], bbox=[x, y, w, h], area=w * h,
                                    iscrowd=int(obj['difficult'] and difficult == 'crowd')))
    if clipped:
        xml, k, corners = clipped[0]
        hint = ('' if zero_based else ' (corners of 0 in a 1-based file: if these files count pixels '
                'from 0, convert with --zero-based)')
        print(f'voc_to_coco: warning: {len(clipped)} box(es) start left of or above their image and were '
              f'clipped to it, e.g. {xml}: object {k} with corners {corners}{hint}', file=sys.stderr)
    coco = dict(info=dict(description=f'converted from {ann_dir} by tools/dataset/voc_to_coco.py'),
                images=images, annotations=annotations,
                categories=[dict(id=i, name=n, supercategory='none') for n, i in cat_id.items()])
    atomic_write_text(out, json.dumps(coco))
    return coco


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_dir', help='folder of VOC .xml files (VOC: Annotations/)')
    p.add_argument('--out', required=True, help='the COCO json to write')
    p.add_argument('--ids', help='file of image ids (xml names without .xml), one a line '
                                 '(VOC: ImageSets/Main/train.txt); default: every .xml')
    p.add_argument('--img-dir', help='the image folder (VOC: JPEGImages/): check each image exists')
    p.add_argument('--classes', help='class names in label order: a,b,c or a file, one a line')
    p.add_argument('--difficult', choices=('crowd', 'keep', 'drop'), default='crowd',
                   help='difficult objects: iscrowd=1 (ignored; default), ordinary boxes, or left out')
    p.add_argument('--zero-based', action='store_true', help='the xml corners count pixels from 0')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        classes = read_names(args.classes) if args.classes else None
        coco = convert(args.ann_dir, args.out, args.ids, args.img_dir, classes, args.difficult,
                       args.zero_based)
    except (OSError, VOCError) as e:
        print(f'voc_to_coco: error: {e}', file=sys.stderr)
        return 2
    names = ', '.join(c['name'] for c in coco['categories'])
    print(f'{len(coco["images"])} images, {len(coco["annotations"])} boxes, classes ({names}) '
          f'-> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
