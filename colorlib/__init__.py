"""colorlib: the library behind the course *Colorizing grayscale photographs with a CNN*.

The notebooks teach, colorlib does. One module per lesson:

- :mod:`colorlib.color`: sRGB <-> CIELAB, chroma and hue edits, the paper's scalings (notebook 01);
- :mod:`colorlib.widgets`: the notebook's sliders and their static figures (notebook 01);
- :mod:`colorlib.model`: the network (notebooks 02 and 03);
- :mod:`colorlib.anatomy`: looking inside it: layer tables, feature maps, checkpoints (02, 03);
- :mod:`colorlib.weights`: downloading and safely loading checkpoints;
- :mod:`colorlib.colorize`: colorizing photos of any size (03);
- :mod:`colorlib.data`, :mod:`colorlib.places205`, :mod:`colorlib.train`: data and training (04);
- :mod:`colorlib.metrics`, :mod:`colorlib.modelz`, :mod:`colorlib.evaluate`,
  :mod:`colorlib.dullness`: evaluation, Zhang et al.'s model, the MSE analysis (05);
- :mod:`colorlib.config`: the ``quick`` / ``paper`` profiles; :mod:`colorlib.samples`: offline photos;
  :mod:`colorlib.plot`, :mod:`colorlib.figures`: saving and regenerating figures;
  :mod:`colorlib.files`: atomic writes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("colorlib")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from .color import ab_to_target, lab_to_rgb, rgb_to_lab, target_to_ab  # noqa: E402
from .config import get_profile  # noqa: E402
from .model import ColorizationNet, build_colorization_net  # noqa: E402
from .weights import load_pretrained  # noqa: E402

__all__ = [
    "__version__",
    "rgb_to_lab",
    "lab_to_rgb",
    "ab_to_target",
    "target_to_ab",
    "get_profile",
    "ColorizationNet",
    "build_colorization_net",
    "load_pretrained",
]
