"""colorlib: the library behind the course *Colorizing grayscale photographs with a CNN*.

The notebooks teach, colorlib does. Two wings (``tests/test_structure.py`` checks them):

**The core**, each module one concept; none draws, and none imports matplotlib, ipywidgets
or the lessons wing. Each imports only the modules listed before it:

- :mod:`~colorlib.config`: profiles (quick, paper), the cache and output folders;
- :mod:`~colorlib.files`: atomic writes with normal permissions;
- :mod:`~colorlib.hub`: the one downloader (resume, sha256, size, mirror, fast failure offline);
- :mod:`~colorlib.color`: sRGB <-> CIELAB, the paper's scalings;
- :mod:`~colorlib.images`: the one image reader (EXIF, 16-bit, alpha, pixel limit), crops;
- :mod:`~colorlib.hints`: colour hints as data: points, their maps, simulated hints, the JSON file;
- :mod:`~colorlib.propagation`: spreading hints by optimisation (Levin et al. 2004), one sparse system;
- :mod:`~colorlib.model`: the paper's network, pure nn.Module;
- :mod:`~colorlib.bins`: Zhang et al.'s ab bins, soft encoding, rebalancing, the annealed mean;
- :mod:`~colorlib.losses`: MSE, L1 and classification losses, one interface;
- :mod:`~colorlib.metrics`: AuC (and rebalanced), PSNR, SSIM, colourfulness, chroma;
- :mod:`~colorlib.modelz`: Zhang et al.'s ECCV16 network;
- :mod:`~colorlib.weights`: registry with input sizes, safe loading, building a network;
- :mod:`~colorlib.datasets`: landscapes, Caltech-101, Kodak24, the split by photographer;
- :mod:`~colorlib.splits`: stratified splits grouped by photographer: the course's photos;
- :mod:`~colorlib.credits`: photo credits: captions, CREDITS.md;
- :mod:`~colorlib.places205`: the paper's data: archive, safe extraction, split;
- :mod:`~colorlib.samples`: a few offline sample photos;
- :mod:`~colorlib.data`: datasets of crops, the per-batch Lab step;
- :mod:`~colorlib.distributed`: devices and process groups: choose_device, the one all-reduce;
- :mod:`~colorlib.batches`: loaders of crops, photos as (L / 100, ab), stored encoder features;
- :mod:`~colorlib.feature_store`: stored encoder features kept in the cache for the next process;
- :mod:`~colorlib.checkpointing`: checkpoints, run history and RNG state on disk;
- :mod:`~colorlib.callbacks`: progress, log lines and divergence as small training callbacks;
- :mod:`~colorlib.averaging`: the weights a run keeps: their moving average over the last steps;
- :mod:`~colorlib.warm_start`: a run's decoder started from a trained one, hint channels at zero;
- :mod:`~colorlib.train`: the training step, epoch, validation, checkpoints, resume, DDP;
- :mod:`~colorlib.runs`: every run folder's name; reusing a finished run;
- :mod:`~colorlib.inference`: colorize arrays of any size: predict_ab, colorize, colorize_many;
- :mod:`~colorlib.colorize_files`: colorize files, folders and uploads; output names and formats;
- :mod:`~colorlib.evaluate`: colorizers, baselines, the metrics table, ``colorlib evaluate``;
- :mod:`~colorlib.course`: runs the notebooks; the lessons' links and install cell;
- :mod:`~colorlib.cli`: the colorlib command;

**The lessons wing** (:mod:`colorlib.lessons`), one module per notebook (its number in
brackets; A1 is the appendix), where figures, widgets and lesson-only experiments live:

- :mod:`~colorlib.lessons.plot` (all): saving figures, image grids;
- :mod:`~colorlib.lessons.layers` (02, 03, A1): describing layers, counting parameters;
- :mod:`~colorlib.lessons.color_space` (01): Lab edits, swatches, the ab plane; their sliders;
- :mod:`~colorlib.lessons.encoder_anatomy` (02): Figure 2's table, Figures 3 and 4, feature maps, receptive fields;
- :mod:`~colorlib.lessons.decoder_anatomy` (03): mosaics, the border frame, the checkerboard, up-sampling;
- :mod:`~colorlib.lessons.authors_checkpoints` (A1): what the authors' checkpoint files contain;
- :mod:`~colorlib.lessons.training` (04): constant baselines, where a step's time goes;
- :mod:`~colorlib.lessons.evaluation` (05): the comparison grid of colorizers;
- :mod:`~colorlib.lessons.paper_figures` (05): the paper's PDF and its Figures 1, 5, 6;
- :mod:`~colorlib.lessons.dullness` (06): the toy experiment on MSE's averaging, dullness on photos;
- :mod:`~colorlib.lessons.beyond_mse` (07): bins drawn, modes, temperature and pixel widgets, the loss table;
- :mod:`~colorlib.lessons.loss_experiment` (07): the four losses over seeds, scored; the results file;
- :mod:`~colorlib.lessons.your_photos` (09): the photo colorizer widget;
- :mod:`~colorlib.lessons.hints_lesson` (08): hints vs Levin et al. on Kodak24, the click-to-hint widget (ipyevents);

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
