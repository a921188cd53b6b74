"""The reference ImageNet augmentation pieces that mmcv 2.1 / mmdet 3.3 lack.

Present already and used as they are: ``LoadImageFromFile`` (``color_type='color'``
turns grayscale files into 3-channel BGR), ``RandomFlip``, ``CenterCrop`` (mmcv) and
``ResizeShortestEdge`` (mmdet). Missing, so here: torchvision's ``RandomResizedCrop``
and ``ColorJitter`` (same sampling), and ``PackClsInputs`` (mmdet only packs
detection / ReID samples). Images are BGR uint8 ``HxWx3`` arrays throughout.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmengine.structures import BaseDataElement

# ITU-R 601-2 luma, as PIL's convert('L'), in BGR order.
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)


def _pair(value: Union[int, Sequence[int]], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    if len(value) != 2 or any(not isinstance(v, int) or v < 1 for v in value):
        raise ValueError(f'{name}: expected a positive int or (h, w), got {value!r}')
    return tuple(value)


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """torchvision's ``RandomResizedCrop``: a crop of random area and aspect ratio, resized to ``size``.

    Same sampling as torchvision (10 tries, then a centre crop clamped to
    ``ratio``). ``backend='pillow'`` resizes as torchvision does on PIL images.

    Args:
        size: output ``(h, w)`` or one int for a square.
        scale: range of the crop's area as a fraction of the image's.
        ratio: range of the crop's aspect ratio (w / h), sampled log-uniformly.
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3. / 4., 4. / 3.),
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.size = _pair(size, 'RandomResizedCrop.size')
        if not (len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f'RandomResizedCrop.scale: expected 0 < min <= max, got {scale!r}')
        if not (len(ratio) == 2 and 0 < ratio[0] <= ratio[1]):
            raise ValueError(f'RandomResizedCrop.ratio: expected 0 < min <= max, got {ratio!r}')
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = interpolation
        self.backend = backend

    def crop_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of the crop."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = np.random.randint(0, height - h + 1)
                left = np.random.randint(0, width - w + 1)
                return top, left, h, w
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, h, w = self.crop_box(*img.shape[:2])
        img = img[top:top + h, left:left + w]
        img = mmcv.imresize(img, (self.size[1], self.size[0]), interpolation=self.interpolation,
                            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['crop_bbox'] = np.array([left, top, left + w, top + h])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """torchvision's ``ColorJitter`` on BGR uint8 images.

    Each factor is drawn uniformly from ``[max(0, 1 - v), 1 + v]`` (hue:
    ``[-hue, hue]``) and the four adjustments run in a random order, as in
    torchvision; each blends like PIL's ImageEnhance and rounds back to uint8.
    The reference ImageNet recipe uses ``brightness=contrast=saturation=0.4, hue=0.2``.
    """

    def __init__(self, brightness: float = 0., contrast: float = 0., saturation: float = 0.,
                 hue: float = 0.) -> None:
        for name, v in (('brightness', brightness), ('contrast', contrast),
                        ('saturation', saturation)):
            if v < 0:
                raise ValueError(f'ColorJitter.{name} must be >= 0, got {v}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'ColorJitter.hue must be in [0, 0.5], got {hue}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue

    @staticmethod
    def _blend(img: np.ndarray, other: Union[np.ndarray, float], factor: float) -> np.ndarray:
        out = other + factor * (img.astype(np.float32) - other)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    @staticmethod
    def _gray(img: np.ndarray) -> np.ndarray:
        return img.astype(np.float32) @ _LUMA_BGR

    def adjust_brightness(self, img: np.ndarray, factor: float) -> np.ndarray:
        return self._blend(img, 0., factor)

    def adjust_contrast(self, img: np.ndarray, factor: float) -> np.ndarray:
        return self._blend(img, float(np.floor(self._gray(img).mean() + 0.5)), factor)

    def adjust_saturation(self, img: np.ndarray, factor: float) -> np.ndarray:
        gray = np.rint(self._gray(img))[..., None]
        return self._blend(img, gray, factor)

    def adjust_hue(self, img: np.ndarray, shift: float) -> np.ndarray:
        # The FULL variant maps hue to 0..255, as PIL's HSV mode.
        hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2HSV_FULL)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(shift * 255)) % 256
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)

    def transform(self, results: dict) -> dict:
        img = results['img']
        for i in np.random.permutation(4):
            if i == 0 and self.brightness > 0:
                img = self.adjust_brightness(img, np.random.uniform(
                    max(0., 1 - self.brightness), 1 + self.brightness))
            elif i == 1 and self.contrast > 0:
                img = self.adjust_contrast(img, np.random.uniform(
                    max(0., 1 - self.contrast), 1 + self.contrast))
            elif i == 2 and self.saturation > 0:
                img = self.adjust_saturation(img, np.random.uniform(
                    max(0., 1 - self.saturation), 1 + self.saturation))
            elif i == 3 and self.hue > 0:
                img = self.adjust_hue(img, np.random.uniform(-self.hue, self.hue))
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, '
                f'saturation={self.saturation}, hue={self.hue})')


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """``inputs``: the image as a CHW uint8 tensor; ``data_samples``: a
    :class:`~mmengine.structures.BaseDataElement` with ``gt_label`` (a 1-element
    long tensor) and the present ``meta_keys`` as metainfo."""

    def __init__(self, meta_keys: Sequence[str] = ('img_path', 'ori_shape', 'img_shape',
                                                   'flip', 'flip_direction')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt_label' in results:
            sample.gt_label = torch.as_tensor(results['gt_label'], dtype=torch.long).reshape(-1)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
