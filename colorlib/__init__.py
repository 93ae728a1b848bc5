"""colorlib: the library behind the course *Colorizing grayscale photographs with a CNN*.

The notebooks teach, colorlib does. The modules stand on floors; each imports only from
the floors below it (``tests/test_structure.py`` checks this):

1. ground: :mod:`~colorlib.config` (profiles, folders), :mod:`~colorlib.files` (atomic
   writes), :mod:`~colorlib.color` (sRGB <-> CIELAB, lesson 01), :mod:`~colorlib.images`
   (the one image reader, crops), :mod:`~colorlib.hub` (the one downloader);
2. networks, pure ``nn.Module`` code: :mod:`~colorlib.model` (the paper's network, 02-03),
   :mod:`~colorlib.modelz` (Zhang et al.'s), :mod:`~colorlib.losses` (MSE, L1,
   classification, 06), :mod:`~colorlib.metrics` (AuC, PSNR, SSIM, colourfulness, 05);
3. weights and data: :mod:`~colorlib.weights` (registry, safe loading, checkpoint
   forensics), :mod:`~colorlib.datasets` (landscapes, Kodak24, credits),
   :mod:`~colorlib.places205`, :mod:`~colorlib.samples`, :mod:`~colorlib.paper` (the
   paper's own figures);
4. the lessons' work: :mod:`~colorlib.inference` (colorize any photo), :mod:`~colorlib.data`
   and :mod:`~colorlib.train` (04), :mod:`~colorlib.evaluate`, :mod:`~colorlib.dullness`
   (05), :mod:`~colorlib.anatomy` (02-03), :mod:`~colorlib.plot`, :mod:`~colorlib.widgets`;
5. top: :mod:`~colorlib.course` (runs the notebooks), :mod:`~colorlib.cli` (the command).

The names below are imported on first use (PEP 562), so ``colorlib --version`` and
``import colorlib`` start without loading torch:

>>> import colorlib
>>> callable(colorlib.colorize)
True
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("colorlib")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

#: Public name -> the module that defines it.
_LAZY = {
    "rgb_to_lab": "color",
    "lab_to_rgb": "color",
    "ab_to_target": "color",
    "target_to_ab": "color",
    "get_profile": "config",
    "load_image": "images",
    "ColorizationNet": "model",
    "build_colorization_net": "weights",
    "load_pretrained": "weights",
    "colorize": "inference",
    "colorize_many": "inference",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'colorlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
