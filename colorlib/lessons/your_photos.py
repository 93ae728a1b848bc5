"""Colorize your own photos (notebook 09): the photo colorizer widget and its static twin.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from torch import nn

from ..bins import ANNEALED_MEAN_TEMPERATURE
from ..color import (
    lab_to_rgb,
    rgb_to_lab,
)
from ..colorize_files import colorize_upload
from ..config import repo_root
from ..credits import credit_line
from ..files import atomic_write
from ..hub import DownloadError
from ..images import DEFAULT_MAX_PIXELS
from ..inference import colorize
from ..metrics import mean_chroma
from ..runs import ModelCandidate
from ..weights import load_pretrained
from .color_space import photo_as_float
from .plot import png_bytes

__all__ = [
    "available_models",
    "PhotoColorizer",
    "draw_colorized_by_models",
]


def _shown_path(path: str | Path) -> str:
    """A path as a reader should see it: relative to the repository when inside it."""
    path = Path(path)
    root = repo_root()
    if root is not None and path.is_absolute() and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return path.as_posix()


def available_models(candidates: Sequence[ModelCandidate]) -> tuple[list[ModelCandidate], list[str]]:
    """Split ``candidates`` into those that exist and one line for each missing one.

    Returns:
        ``(available candidates in order, ["label: no file runs/... yet; run notebook 04 ...", ...])``.
    """
    available = [candidate for candidate in candidates if candidate.available]
    missing = [
        f"{candidate.label}: no file {_shown_path(candidate.source)} yet"
        + (f"; {candidate.how_to_get}" if candidate.how_to_get else "")
        for candidate in candidates
        if not candidate.available
    ]
    return available, missing


def _display_lab(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> its Lab, float32 (h, w, 3), shrunk to ``max_side`` for display."""
    return rgb_to_lab(photo_as_float(rgb, max_side=max_side))


def _ab_as_gray(values: np.ndarray, ab_limit: float) -> np.ndarray:
    """One ab channel (h, w) as a gray picture: ``-ab_limit`` black, 0 mid gray, ``+ab_limit`` white."""
    level = np.clip((values + ab_limit) / (2 * ab_limit), 0.0, 1.0)
    return np.repeat(level[..., None], 3, axis=-1)


def _credit(path: str | Path) -> str:
    """The credit line of a landscape or Kodak photo; "" for any other file."""
    try:
        return credit_line([Path(path)])
    except ValueError:
        return ""


class PhotoColorizer:
    """Notebook 09's widget: upload a photo or pick a sample, pick a model, see and save the result.

    Controls: ``upload`` (an ``ipywidgets.FileUpload``), ``source`` (the photo: the
    samples, and "your photo" once one is uploaded), ``model`` (the available models),
    ``temperature`` (shown for a classification model only: its annealed-mean
    temperature) and ``save_button``. The pictures: the network's input (the lightness
    alone), the result, and the result's a and b channels on one fixed gray scale
    (``-ab_limit`` black, 0 mid gray: no colour, ``+ab_limit`` white).

    With nothing uploaded it shows the first sample, so a notebook runs it headless.
    Everything updates synchronously when a control's ``value`` changes; tests call
    :meth:`use_upload` for what an upload does.

    Attributes:
        result: the colorized photo at its own resolution, uint8 ``(H, W, 3)``, or
            ``None`` after an error.
        shown_lab: the result's Lab at display size, float32 ``(h, w, 3)`` (L 0..100,
            a and b in ab units), or ``None``.
        name: the file name of the photo on display.
        error: one line saying why the photo could not be colorized, or ``None``.
        missing: one line per candidate model that does not exist yet.
        widget: the whole thing, to end a notebook cell with.

    Args:
        candidates: the models to offer (e.g. :func:`course_model_candidates`); those
            that do not exist are left out and listed in ``missing``.
        samples: image files to pick from, the first shown at the start.
        save_folder: where :meth:`save` writes, relative to the current folder
            (created on the first save; nothing is written before).
        display_side: the pictures are shrunk to this longer side for display.
        max_pixels: uploads with more pixels are refused (see :func:`colorlib.load_image`).
        ab_limit: the end of the a and b panels' scale, in ab units.

    Raises:
        ValueError: no candidate model exists, or no sample is given.
    """

    UPLOAD = "<upload>"

    def __init__(
        self,
        candidates: Sequence[ModelCandidate],
        samples: Sequence[str | Path],
        save_folder: str | Path = "colorized",
        display_side: int = 256,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        ab_limit: float = 40.0,
    ) -> None:
        available, self.missing = available_models(candidates)
        if not available:
            raise ValueError("PhotoColorizer: none of the models exists yet: " + "; ".join(self.missing))
        if len(samples) == 0:
            raise ValueError("PhotoColorizer: expected at least one sample photo (a path)")
        self.candidates = {candidate.label: candidate for candidate in available}
        self.save_folder = Path(save_folder)
        self.display_side, self.max_pixels, self.ab_limit = display_side, max_pixels, ab_limit
        self._models: dict[str, nn.Module] = {}
        self._upload: tuple[bytes, str] | None = None
        self._quiet = False
        self._sample_options = [(Path(sample).name, str(sample)) for sample in samples]
        self.result: np.ndarray | None = None
        self.shown_lab: np.ndarray | None = None
        self.name, self.error = "", None

        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload a photo")
        self.source = widgets.Dropdown(options=self._sample_options, description="photo")
        self.model = widgets.Dropdown(options=list(self.candidates), description="model",
                                      layout=widgets.Layout(width="440px"))
        self.temperature = widgets.FloatSlider(value=ANNEALED_MEAN_TEMPERATURE, min=0.05, max=1.0, step=0.01,
                                               description="temperature")
        self.save_button = widgets.Button(description="Save the result", icon="download")
        self.status = widgets.HTML()
        self.saved = widgets.HTML()
        captions = {"input": "network input: L only", "result": "result", "a": "a of the result", "b": "b of the result"}
        self.panels = {key: widgets.Image(format="png") for key in captions}
        pictures = widgets.HBox([widgets.VBox([widgets.HTML(f"<b>{html.escape(text)}</b>"), self.panels[key]])
                                 for key, text in captions.items()])
        notes = widgets.HTML("<br>".join(html.escape(line) for line in self.missing))
        self.widget = widgets.VBox([
            widgets.HBox([self.upload, self.source]),
            widgets.HBox([self.model, self.temperature]),
            pictures, self.status, widgets.HBox([self.save_button, self.saved]), notes,
        ])
        self.upload.observe(self._on_upload, names="value")
        for control in (self.source, self.model, self.temperature):
            control.observe(self.update, names="value")
        self.save_button.on_click(lambda _button: self.save())
        self.update()

    def loaded_model(self, label: str | None = None) -> nn.Module:
        """The network behind a menu label (default: the one selected), loaded once."""
        label = self.model.value if label is None else label
        if label not in self._models:
            self._models[label] = load_pretrained(self.candidates[label].source, progress=False)
        return self._models[label]

    @property
    def is_classification(self) -> bool:
        """Whether the selected model is a classification model (it has a temperature)."""
        return getattr(self.loaded_model(), "loss_name", "mse") == "classification"

    def use_upload(self, data: bytes, name: str) -> None:
        """Show an uploaded file: what the upload control does with the file it receives."""
        self._upload = (bytes(data), Path(str(name)).name or "upload")
        self._quiet = True
        try:
            self.source.options = [(f"your photo: {self._upload[1]}", self.UPLOAD), *self._sample_options]
            self.source.value = self.UPLOAD
        finally:
            self._quiet = False
        self.update()

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if isinstance(files, dict):  # ipywidgets 7: {name: {"metadata": ..., "content": bytes}}
            files = [{"name": name, "content": entry["content"]} for name, entry in files.items()]
        if files:
            self.use_upload(files[0]["content"], files[0]["name"])

    def _photo(self) -> tuple[bytes, str, str]:
        """``(file content, file name, credit line)`` of the photo selected."""
        if self.source.value == self.UPLOAD and self._upload is not None:
            return self._upload[0], self._upload[1], ""
        path = Path(self.source.value)
        return path.read_bytes(), path.name, _credit(path)

    def update(self, change: dict | None = None) -> None:
        """Colorize the selected photo with the selected model and redraw everything."""
        if self._quiet:
            return
        self.saved.value = ""
        try:
            model = self.loaded_model()
        except (ValueError, OSError, DownloadError) as error:
            self._show_error(f"cannot load {self.model.value}: {' '.join(str(error).split())}")
            return
        classification = getattr(model, "loss_name", "mse") == "classification"
        self.temperature.layout.display = None if classification else "none"
        data, self.name, credit = self._photo()
        temperature = self.temperature.value if classification else None
        self.result, self.error = colorize_upload(data, self.name, model, max_pixels=self.max_pixels,
                                                  temperature=temperature)
        if self.result is None:
            self._show_error(self.error)
            return
        self.shown_lab = _display_lab(self.result, self.display_side)
        lightness_only = self.shown_lab.copy()
        lightness_only[..., 1:] = 0.0
        self.panels["input"].value = png_bytes(lab_to_rgb(lightness_only))
        self.panels["result"].value = png_bytes(photo_as_float(self.result, max_side=self.display_side))
        for key, channel in (("a", 1), ("b", 2)):
            self.panels[key].value = png_bytes(_ab_as_gray(self.shown_lab[..., channel], self.ab_limit))
        height, width = self.result.shape[:2]
        setting = f", temperature {self.temperature.value:.2f}" if classification else ""
        line = (f"{self.name}: {width}x{height} pixels; {self.model.value}{setting}; "
                f"mean chroma of the result {float(mean_chroma(self.shown_lab[..., 1:])):.1f}")
        self.status.value = html.escape(line) + (f"<br><small>{html.escape(credit)}</small>" if credit else "")
        self.save_button.disabled = False

    def _show_error(self, line: str) -> None:
        self.result, self.shown_lab, self.error = None, None, line
        for panel in self.panels.values():
            panel.value = b""
        self.status.value = f'<span style="color:#b00020">{html.escape(line)}</span>'
        self.save_button.disabled = True

    def save(self, folder: str | Path | None = None) -> Path | None:
        """Write the result as ``<folder>/<photo name>_colorized.png`` (atomically); ``None`` when there is none.

        Args:
            folder: default ``save_folder``; created when missing.
        """
        if self.result is None:
            self.saved.value = "nothing to save"
            return None
        folder = Path(folder) if folder is not None else self.save_folder
        folder.mkdir(parents=True, exist_ok=True)
        result = Image.fromarray(self.result)
        target = atomic_write(folder / f"{Path(self.name).stem or 'upload'}_colorized.png",
                              lambda name: result.save(name, format="PNG"))
        self.saved.value = html.escape(f"saved {_shown_path(target)}")
        return target


def draw_colorized_by_models(
    photo: np.ndarray,
    models: dict[str, nn.Module],
    *,
    max_side: int = 256,
    ab_limit: float = 40.0,
    credit: str = "",
) -> Figure:
    """Static twin of :class:`PhotoColorizer`: one photo colorized by each model, with its a and b.

    Rows: the original photo, then one per model (``colorlib.colorize`` with the
    model's own settings); columns: the picture, its a channel, its b channel, on one
    fixed gray scale (``-ab_limit`` black, 0 mid gray, ``+ab_limit`` white). Each title
    gives the mean chroma.

    Args:
        photo: uint8 RGB ``(H, W, 3)``.
        models: ``{label: network}``, at least one.
        max_side: pictures are shrunk to this longer side.
        credit: a line under the figure (the photo's credit).
    """
    if not models:
        raise ValueError("draw_colorized_by_models: expected at least one model")
    rows = {"original": photo, **{label: colorize(photo, model) for label, model in models.items()}}
    figure, axes = plt.subplots(len(rows), 3, figsize=(10.5, 2.75 * len(rows) * photo.shape[0] / photo.shape[1] + 0.9),
                                squeeze=False, layout="constrained")
    for row, (label, rgb) in enumerate(rows.items()):
        lab = _display_lab(rgb, max_side)
        chroma = float(mean_chroma(lab[..., 1:]))
        axes[row, 0].imshow(photo_as_float(rgb, max_side=max_side))
        axes[row, 0].set_title(f"{label}\nmean chroma {chroma:.1f}", fontsize=9)
        for column, (channel, name) in enumerate(((1, "a"), (2, "b")), start=1):
            shown = axes[row, column].imshow(lab[..., channel], cmap="gray", vmin=-ab_limit, vmax=ab_limit)
            axes[row, column].set_title(f"{name}: mean |{name}| {float(np.abs(lab[..., channel]).mean()):.1f}", fontsize=9)
        for axis in axes[row]:
            axis.set_xticks([])
            axis.set_yticks([])
    figure.colorbar(shown, ax=axes[:, 1:], location="right", shrink=0.6,
                    label=f"a, b (ab units; -{ab_limit:g} black, 0 mid gray, +{ab_limit:g} white)")
    figure.suptitle("One photo, each available model: the network sees only its lightness", fontsize=11)
    if credit:
        figure.text(0.5, -0.01, credit, ha="center", va="top", fontsize=8)
    return figure
