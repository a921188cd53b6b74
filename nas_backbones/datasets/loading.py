"""Image loading that names the file at fault, or skips it with a warning, instead of an assert in a worker."""
from __future__ import annotations

from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS
from mmengine.logging import print_log


@TRANSFORMS.register_module()
class LoadImageOrSkip(LoadImageFromFile):
    """``LoadImageFromFile`` (color: grayscale, CMYK and palette images come out as 3-channel BGR).

    ``on_error='raise'``: a missing or undecodable file raises an error that
    names it. ``on_error='skip'``: it is logged and the sample is dropped; the
    dataset then draws another one (MMEngine's BaseDataset refetch), which is
    what a long search wants from a few bad files among millions.
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"LoadImageOrSkip: on_error must be 'raise' or 'skip', got {on_error!r}")
        kwargs.setdefault('color_type', 'color')
        super().__init__(**kwargs)
        self.on_error = on_error

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            out = super().transform(results)
            problem = None if out is not None else 'it could not be read'
        except FileNotFoundError:
            out, problem = None, 'it does not exist'
        except AssertionError:  # mmcv's "failed to load image": undecodable bytes
            out, problem = None, 'it is not a readable image (corrupt, empty or truncated)'
        except Exception as e:  # noqa: BLE001  a decoder error, worded by the decoder
            out, problem = None, f'{type(e).__name__}: {e}'
        if problem is None:
            return out
        if self.on_error == 'skip':
            print_log(f'skipping image {path}: {problem}', logger='current', level=30)
            return None
        raise ValueError(f'cannot load image {path}: {problem}')
