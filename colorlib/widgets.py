"""Every widget of the course, each with a static twin.

The widgets, built with ipywidgets:

- :func:`lab_swatch_widget`: ``L``, ``a`` and ``b`` sliders driving a colour swatch
  that shows its sRGB value (0..1, 0..255 and hex) and warns when the Lab colour is
  outside the sRGB gamut. Static twin: :func:`plot_lab_swatches`.
- :func:`photo_colour_widget`: on a photo, a chroma slider (0 to 2), a hue-rotation
  slider (degrees) and toggles that switch the ``a`` and ``b`` channels off. Static
  twin: :func:`plot_photo_edits`.
- :class:`AbPlaneWidget` (notebook 01): an ``L`` slider and the ab plane at that
  lightness, the displayable colours drawn, the rest blank. Static twin: :func:`plot_ab_planes`.
- :class:`FeatureMapBrowser` (notebook 02): a layer menu and a channel slider over the
  encoder's feature maps. Static twin: :func:`draw_feature_map_browser`.
- :class:`UpsamplingComparison` (notebook 03): the released model's colours with the last
  up-sampling nearest or bilinear, and a zoom. Static twin: :func:`draw_nearest_vs_bilinear`.
- :class:`TemperatureExplorer` (notebook 06): a classification model's annealed-mean
  temperature on a photo, with its colourfulness and AuC. Static twin: :func:`draw_temperatures`.
- :class:`PixelDistributionExplorer` (notebook 06): the predicted colour distribution at one
  pixel, its modes, its mean and the MSE model's answer. Static twin: :func:`draw_pixel_distributions`.
- :class:`PhotoColorizer` (notebook 07): upload a photo or pick a sample, pick a model
  (and a classification model's temperature), see the input, the result and its a and b
  channels, save the result. Static twin: :func:`draw_colorized_by_models`.

Readers on GitHub see no widgets, so every widget has a matplotlib figure that shows
the same thing for a few fixed settings. The widgets keep their state in Python
attributes (``widget.colour``, ``widget.rgb``, ...) and update synchronously when a
slider's ``value`` is set, so tests and notebooks can drive them without a browser.
All colour work is done by :mod:`colorlib.color`.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from torch import nn

from .anatomy import check_square_photo, colorize_from_half_resolution, predict_half_resolution
from .color import (
    ab_grid,
    ab_to_target,
    displayable_ab_plane,
    lab_to_rgb,
    out_of_gamut,
    rgb_to_lab,
    scale_chroma_rotate_hue,
    zero_ab_channels,
)
from .config import Profile, get_profile, repo_root, run_dir
from .datasets import credit_line
from .evaluate import course_model_path
from .files import atomic_write
from .hub import DownloadError
from .images import DEFAULT_MAX_PIXELS, load_image, resize
from .inference import colorize, colorize_upload, network_input
from .losses import (
    ANNEALED_MEAN_TEMPERATURE,
    DistributionModes,
    ab_plane_axes,
    annealed_mean,
    bins_on_grid,
    distribution_modes,
    mode_masses,
)
from .metrics import ab_error_auc, ab_of, colourfulness, mean_chroma
from .model import ColorizationNet
from .plot import png_bytes, show_images
from .weights import PAPER_WEIGHTS, load_pretrained

__all__ = [
    "SwatchColour",
    "describe_lab_colour",
    "LabSwatchWidget",
    "lab_swatch_widget",
    "DEFAULT_SWATCHES",
    "plot_lab_swatches",
    "PhotoEdit",
    "edit_photo_colours",
    "PhotoColourWidget",
    "photo_colour_widget",
    "DEFAULT_PHOTO_EDITS",
    "plot_photo_edits",
    "photo_as_float",
    "AbPlane",
    "describe_ab_plane",
    "AbPlaneWidget",
    "DEFAULT_AB_PLANE_LIGHTNESSES",
    "plot_ab_planes",
    "FeatureMapChannel",
    "FeatureMapBrowser",
    "draw_feature_map_browser",
    "TemperatureView",
    "TemperatureExplorer",
    "draw_temperatures",
    "predicted_distributions",
    "PixelPrediction",
    "PixelDistributionExplorer",
    "draw_pixel_distributions",
    "UpsamplingComparison",
    "draw_nearest_vs_bilinear",
    "ModelCandidate",
    "course_model_candidates",
    "available_models",
    "PhotoColorizer",
    "draw_colorized_by_models",
]


# --------------------------------------------------------------------------------------
# (1) One Lab colour: sliders and a swatch.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwatchColour:
    """One Lab colour and what a screen shows for it.

    Attributes:
        lab: ``(L, a, b)`` as given.
        rgb: sRGB in [0, 1] from :func:`colorlib.color.lab_to_rgb` (clipped when the
            colour is out of gamut).
        rgb8: ``rgb`` as 8-bit integers 0..255 (rounded).
        hex: ``"#RRGGBB"``, the 8-bit value in hexadecimal.
        in_gamut: False when no sRGB colour has these Lab values (see
            :func:`colorlib.color.out_of_gamut`); ``rgb`` is then only the nearest
            displayable stand-in.
    """

    lab: tuple[float, float, float]
    rgb: tuple[float, float, float]
    rgb8: tuple[int, int, int]
    hex: str
    in_gamut: bool


def describe_lab_colour(lightness: float, a: float, b: float) -> SwatchColour:
    """What a screen shows for the Lab colour ``(lightness, a, b)``.

    Args:
        lightness: ``L``, 0 (black) to 100 (white).
        a: green (below 0) to red (above 0), about -128..127.
        b: blue (below 0) to yellow (above 0), about -128..127.

    Raises:
        ValueError: a value that is not a finite number.
    """
    values = []
    for name, value in (("lightness", lightness), ("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"describe_lab_colour: expected a number for {name}, got {value!r}")
        values.append(float(value))
    lab = np.array(values, dtype=np.float64).reshape(1, 1, 3)
    rgb = lab_to_rgb(lab).reshape(3)  # raises ValueError for NaN / infinity
    rgb8 = tuple(int(v) for v in np.round(rgb * 255))
    return SwatchColour(
        lab=tuple(values),
        rgb=tuple(float(v) for v in rgb),
        rgb8=rgb8,
        hex="#{:02X}{:02X}{:02X}".format(*rgb8),
        in_gamut=not bool(out_of_gamut(lab).reshape(())),
    )


def _swatch_html(colour: SwatchColour) -> str:
    """The swatch: a coloured box and its numbers, as HTML for an ``ipywidgets.HTML``."""
    lightness, a, b = colour.lab
    lines = [
        f"Lab: L={lightness:.1f}, a={a:.1f}, b={b:.1f}",
        "sRGB 0..1: ({:.3f}, {:.3f}, {:.3f})".format(*colour.rgb),
        "sRGB 0..255: ({}, {}, {})".format(*colour.rgb8),
        f"hex: {colour.hex}",
    ]
    if colour.in_gamut:
        lines.append('<span style="color:#1a7f37">inside the sRGB gamut</span>')
    else:
        lines.append(
            '<b style="color:#b00020">&#9888; outside the sRGB gamut</b>: no sRGB colour has '
            "these Lab values; the box shows the clipped stand-in"
        )
    text = "<br>".join(line if line.startswith("<") else html.escape(line) for line in lines)
    return (
        '<div style="display:flex;align-items:center;gap:14px">'
        f'<div style="width:130px;height:90px;background:{colour.hex};'
        'border:1px solid #777;border-radius:4px"></div>'
        f'<div style="font-family:monospace;line-height:1.5">{text}</div></div>'
    )


class LabSwatchWidget(widgets.VBox):
    """``L``, ``a`` and ``b`` sliders and a swatch (see :func:`lab_swatch_widget`).

    Attributes:
        lightness_slider, a_slider, b_slider: the ``FloatSlider`` widgets; setting
            their ``value`` updates the swatch at once.
        swatch: the ``HTML`` widget showing the colour and its numbers.
        colour: the :class:`SwatchColour` on display.
    """

    def __init__(self, lightness: float = 50.0, a: float = 0.0, b: float = 0.0) -> None:
        style = {"description_width": "24px"}
        layout = widgets.Layout(width="420px")
        lightness_slider = widgets.FloatSlider(
            value=lightness, min=0.0, max=100.0, step=0.5, description="L", style=style, layout=layout
        )
        a_slider = widgets.FloatSlider(
            value=a, min=-128.0, max=127.0, step=1.0, description="a", style=style, layout=layout
        )
        b_slider = widgets.FloatSlider(
            value=b, min=-128.0, max=127.0, step=1.0, description="b", style=style, layout=layout
        )
        swatch = widgets.HTML()
        super().__init__(children=[lightness_slider, a_slider, b_slider, swatch])
        self.lightness_slider, self.a_slider, self.b_slider = lightness_slider, a_slider, b_slider
        self.swatch = swatch
        self.colour = describe_lab_colour(lightness_slider.value, a_slider.value, b_slider.value)
        for slider in (lightness_slider, a_slider, b_slider):
            slider.observe(self._update, names="value")
        self._update()

    def set_lab(self, lightness: float, a: float, b: float) -> SwatchColour:
        """Move the three sliders (values beyond a slider's range are clipped to it)."""
        self.lightness_slider.value, self.a_slider.value, self.b_slider.value = lightness, a, b
        return self.colour

    def _update(self, change: dict | None = None) -> None:
        self.colour = describe_lab_colour(
            self.lightness_slider.value, self.a_slider.value, self.b_slider.value
        )
        self.swatch.value = _swatch_html(self.colour)


def lab_swatch_widget(lightness: float = 50.0, a: float = 0.0, b: float = 0.0) -> LabSwatchWidget:
    """Build the Lab swatch widget: three sliders (``L`` 0..100, ``a`` and ``b`` -128..127)
    and a box in the resulting colour with its sRGB value, warning when out of gamut.

    Display it by ending a notebook cell with it; drive it from code with
    ``widget.a_slider.value = 60`` or :meth:`LabSwatchWidget.set_lab`.
    """
    return LabSwatchWidget(lightness, a, b)


#: Lab colours of :func:`plot_lab_swatches`: a lightness ladder of grays (a = b = 0),
#: one step along each direction of the a and b axes, and one colour no screen can show.
DEFAULT_SWATCHES: tuple[tuple[float, float, float], ...] = (
    (100.0, 0.0, 0.0),
    (50.0, 0.0, 0.0),
    (0.0, 0.0, 0.0),
    (50.0, 50.0, 0.0),
    (70.0, -40.0, 0.0),
    (80.0, 0.0, 60.0),
    (50.0, 0.0, -40.0),
    (50.0, 100.0, 100.0),
)


def plot_lab_swatches(
    colours: Sequence[tuple[float, float, float]] = DEFAULT_SWATCHES, columns: int = 4
) -> Figure:
    """The static twin of :func:`lab_swatch_widget`: a grid of swatches.

    Each swatch is titled with its Lab value and labelled with the sRGB colour a screen
    shows (8-bit and hex); out-of-gamut colours are flagged in red.

    Args:
        colours: ``(L, a, b)`` triples.
        columns: swatches per row.
    """
    if len(colours) == 0:
        raise ValueError("plot_lab_swatches: expected at least one (L, a, b) colour")
    described = [describe_lab_colour(*colour) for colour in colours]
    rows = -(-len(described) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.5 * columns, 2.6 * rows), squeeze=False)
    for axis in axes.flat[len(described):]:
        axis.axis("off")
    for axis, colour in zip(axes.flat, described):
        axis.imshow(np.broadcast_to(np.array(colour.rgb), (10, 14, 3)))
        axis.set_xticks([])
        axis.set_yticks([])  # a thin frame keeps white visible on the white page
        lightness, a, b = colour.lab
        axis.set_title(f"L={lightness:g}  a={a:g}  b={b:g}", fontsize=9)
        label = "rgb {} {} {}  {}".format(*colour.rgb8, colour.hex)
        if not colour.in_gamut:
            label += "\nOUT OF GAMUT (clipped)"
        axis.text(
            0.5, -0.04, label, transform=axis.transAxes, ha="center", va="top", fontsize=8.5,
            color="black" if colour.in_gamut else "#b00020", family="monospace",
        )
    figure.suptitle("Lab colours and the sRGB colour a screen shows for them", fontsize=11)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# (2) A photo: chroma, hue, and the a and b channels switched off.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoEdit:
    """One setting of the photo widget.

    Attributes:
        chroma_scale: factor on the chroma, 0 (gray) .. 2.
        hue_degrees: hue rotation in degrees.
        a_on: keep the ``a`` channel (False sets it to 0).
        b_on: keep the ``b`` channel.
        title: a caption for figures.
    """

    chroma_scale: float = 1.0
    hue_degrees: float = 0.0
    a_on: bool = True
    b_on: bool = True
    title: str = ""


def photo_as_float(photo: np.ndarray, max_side: int | None = None) -> np.ndarray:
    """A photo as float32 sRGB ``(H, W, 3)`` in [0, 1], optionally shrunk.

    Args:
        photo: ``(H, W, 3)`` RGB, uint8 0..255 or float 0..1.
        max_side: when given and the photo is larger, shrink it (keeping its aspect
            ratio, with Lanczos antialiasing, through 8-bit values) so that its longer
            side is ``max_side`` pixels.

    Raises:
        ValueError: not ``(H, W, 3)``, or a float photo outside [0, 1].
    """
    array = np.asarray(photo)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"expected a photo shaped (H, W, 3), got shape {array.shape}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        if array.size and not (np.isfinite(array).all() and 0.0 <= array.min() and array.max() <= 1.0):
            raise ValueError("expected a float photo with values in [0, 1]")
        array = array.astype(np.float32)
    else:
        raise ValueError(f"expected a uint8 (0..255) or float (0..1) photo, got dtype {array.dtype}")
    if max_side is not None and max(array.shape[:2]) > max_side:
        scale = max_side / max(array.shape[:2])
        size = (max(1, round(array.shape[1] * scale)), max(1, round(array.shape[0] * scale)))
        shrunk = Image.fromarray(np.round(array * 255).astype(np.uint8)).resize(size, Image.LANCZOS)
        array = np.asarray(shrunk, dtype=np.float32) / 255.0
    return array


def edit_photo_colours(lab: np.ndarray, edit: PhotoEdit) -> tuple[np.ndarray, np.ndarray]:
    """Apply one :class:`PhotoEdit` to a Lab photo.

    The chroma is scaled and the hue rotated first
    (:func:`colorlib.color.scale_chroma_rotate_hue`), then the channels that are off
    are set to 0 (:func:`colorlib.color.zero_ab_channels`); ``L`` never changes.

    Args:
        lab: Lab photo, float ``(H, W, 3)``.
        edit: the setting.

    Returns:
        ``(edited_lab, rgb)``: the edited Lab ``(H, W, 3)`` and its sRGB ``(H, W, 3)`` in
        [0, 1] (out-of-gamut pixels clipped).
    """
    edited = scale_chroma_rotate_hue(lab, edit.chroma_scale, edit.hue_degrees)
    edited = zero_ab_channels(edited, a=not edit.a_on, b=not edit.b_on)
    return edited, lab_to_rgb(edited)


class PhotoColourWidget(widgets.VBox):
    """Chroma and hue sliders and ``a`` / ``b`` toggles on a photo (see :func:`photo_colour_widget`).

    Attributes:
        chroma_slider: ``FloatSlider`` 0..2, the factor on the chroma.
        hue_slider: ``FloatSlider`` -180..180, the hue rotation in degrees.
        a_toggle, b_toggle: ``ToggleButton`` widgets, pressed (True) = channel on.
        image: the ``Image`` widget showing the result (PNG).
        summary: an ``HTML`` line with the mean chroma and the share of clipped pixels.
        lab: the photo in Lab, ``(H, W, 3)`` float32 (never changed).
        edited_lab: the edited Lab on display, ``(H, W, 3)``.
        rgb: the edited photo on display, sRGB ``(H, W, 3)`` float32 in [0, 1].
    """

    def __init__(self, photo: np.ndarray, max_side: int | None = 256) -> None:
        rgb = photo_as_float(photo, max_side)
        slider_style = {"description_width": "110px"}
        chroma_slider = widgets.FloatSlider(
            value=1.0, min=0.0, max=2.0, step=0.05, description="chroma x", style=slider_style,
            layout=widgets.Layout(width="440px"),
        )
        hue_slider = widgets.FloatSlider(
            value=0.0, min=-180.0, max=180.0, step=5.0, description="hue rotation (deg)",
            style=slider_style, layout=widgets.Layout(width="440px"),
        )
        a_toggle = widgets.ToggleButton(value=True, description="a channel on", icon="check")
        b_toggle = widgets.ToggleButton(value=True, description="b channel on", icon="check")
        image = widgets.Image(format="png", layout=widgets.Layout(max_width=f"{rgb.shape[1]}px"))
        summary = widgets.HTML()
        super().__init__(
            children=[chroma_slider, hue_slider, widgets.HBox([a_toggle, b_toggle]), image, summary]
        )
        self.chroma_slider, self.hue_slider = chroma_slider, hue_slider
        self.a_toggle, self.b_toggle = a_toggle, b_toggle
        self.image, self.summary = image, summary
        self.lab = rgb_to_lab(rgb)
        self._mean_chroma = float(mean_chroma(self.lab[..., 1:]))
        self.edited_lab, self.rgb = self.lab, rgb
        for control in (chroma_slider, hue_slider, a_toggle, b_toggle):
            control.observe(self._update, names="value")
        self._update()

    @property
    def edit(self) -> PhotoEdit:
        """The setting the controls show now."""
        return PhotoEdit(
            chroma_scale=self.chroma_slider.value,
            hue_degrees=self.hue_slider.value,
            a_on=self.a_toggle.value,
            b_on=self.b_toggle.value,
        )

    def _update(self, change: dict | None = None) -> None:
        for toggle, name in ((self.a_toggle, "a"), (self.b_toggle, "b")):
            toggle.description = f"{name} channel {'on' if toggle.value else 'off'}"
            toggle.icon = "check" if toggle.value else "times"
        self.edited_lab, self.rgb = edit_photo_colours(self.lab, self.edit)
        edited_chroma = float(mean_chroma(self.edited_lab[..., 1:]))
        clipped = float(out_of_gamut(self.edited_lab).mean())
        self.image.value = png_bytes(self.rgb)
        self.summary.value = (
            f'<span style="font-family:monospace">mean chroma {edited_chroma:.1f} '
            f"(photo: {self._mean_chroma:.1f}); pixels outside the sRGB gamut, clipped: "
            f"{100 * clipped:.1f}%</span>"
        )


def photo_colour_widget(photo: np.ndarray, max_side: int | None = 256) -> PhotoColourWidget:
    """Build the photo widget: chroma (0 to 2) and hue-rotation sliders and toggles that
    switch the ``a`` and ``b`` channels off, showing the edited photo.

    Args:
        photo: ``(H, W, 3)`` RGB, uint8 or float in [0, 1].
        max_side: shrink larger photos to this longer side first (keeps it responsive);
            None keeps the size.
    """
    return PhotoColourWidget(photo, max_side)


#: The settings of :func:`plot_photo_edits`.
DEFAULT_PHOTO_EDITS: tuple[PhotoEdit, ...] = (
    PhotoEdit(title="photo (chroma x1)"),
    PhotoEdit(chroma_scale=0.0, title="chroma x0"),
    PhotoEdit(chroma_scale=0.5, title="chroma x0.5"),
    PhotoEdit(chroma_scale=2.0, title="chroma x2"),
    PhotoEdit(hue_degrees=90.0, title="hue +90 deg"),
    PhotoEdit(hue_degrees=180.0, title="hue 180 deg"),
    PhotoEdit(a_on=False, title="a off (b only)"),
    PhotoEdit(b_on=False, title="b off (a only)"),
)


def plot_photo_edits(
    photo: np.ndarray,
    edits: Sequence[PhotoEdit] = DEFAULT_PHOTO_EDITS,
    columns: int = 4,
    max_side: int | None = 256,
) -> Figure:
    """The static twin of :func:`photo_colour_widget`: the photo under several settings.

    Each panel's title gives the setting and, when some pixels leave the sRGB gamut
    and get clipped, their share.

    Args:
        photo: ``(H, W, 3)`` RGB, uint8 or float in [0, 1].
        edits: the settings, one panel each.
        columns: panels per row.
        max_side: shrink larger photos to this longer side first (None keeps the size).
    """
    if len(edits) == 0:
        raise ValueError("plot_photo_edits: expected at least one PhotoEdit")
    lab = rgb_to_lab(photo_as_float(photo, max_side))
    images, titles = [], []
    for edit in edits:
        edited, rgb = edit_photo_colours(lab, edit)
        clipped = float(out_of_gamut(edited).mean())
        images.append(rgb)
        titles.append(edit.title + (f"\n{100 * clipped:.0f}% clipped" if clipped >= 0.005 else ""))
    return show_images(images, titles, columns=columns, size=2.8)


# --------------------------------------------------------------------------------------
# Notebook 01: the ab plane at one lightness (a slice of the sRGB gamut).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbPlane:
    """The (a, b) colours a screen can show at one lightness, with a few measures.

    Attributes:
        lightness: ``L`` (0..100).
        ab_values: the grid's a (and b) values, ascending (:func:`colorlib.color.ab_grid`).
        rgb: float64 ``(n, n, 3)`` in [0, 1]: the displayable colours, white elsewhere;
            columns run along a (left = green), rows along b (top = yellow).
        displayable: bool ``(n, n)``, True where ``(L, a, b)`` is inside the sRGB gamut.
        displayable_share: the share of the square ``-limit..limit`` x ``-limit..limit``
            that is displayable, 0..1 (grid points counted).
        a_range, b_range: ``(min, max)`` of the displayable a and b on the grid.
        max_chroma: the largest ``sqrt(a**2 + b**2)`` displayable on the grid.
    """

    lightness: float
    ab_values: np.ndarray
    rgb: np.ndarray
    displayable: np.ndarray
    displayable_share: float
    a_range: tuple[float, float]
    b_range: tuple[float, float]
    max_chroma: float


def describe_ab_plane(lightness: float, step: float = 1.0, limit: float = 128.0) -> AbPlane:
    """The ab plane at ``lightness`` (:func:`colorlib.color.displayable_ab_plane`) and its measures.

    Args:
        lightness: ``L`` in 0..100.
        step, limit: the grid, ``-limit..limit`` in steps of ``step`` (ab units).

    Raises:
        ValueError: ``lightness`` outside 0..100, or a bad grid.

    >>> plane = describe_ab_plane(0.0, step=16.0)
    >>> plane.displayable_share > 0, plane.max_chroma   # at L = 0 only black: (a, b) = (0, 0)
    (True, 0.0)
    """
    rgb, displayable = displayable_ab_plane(lightness, step, limit)
    values = ab_grid(step, limit)
    a, b = np.meshgrid(values, values[::-1])
    shown_a, shown_b = a[displayable], b[displayable]  # never empty: gray (0, 0) always exists
    return AbPlane(
        lightness=float(lightness),
        ab_values=values,
        rgb=rgb,
        displayable=displayable,
        displayable_share=float(displayable.mean()),
        a_range=(float(shown_a.min()), float(shown_a.max())),
        b_range=(float(shown_b.min()), float(shown_b.max())),
        max_chroma=float(np.hypot(shown_a, shown_b).max()),
    )


def _draw_ab_plane(axis, plane: AbPlane, mark: tuple[float, float] | None = None, title: bool = True) -> None:
    """Draw ``plane`` on a matplotlib axis: colours where displayable, white elsewhere."""
    half = (plane.ab_values[1] - plane.ab_values[0]) / 2 if len(plane.ab_values) > 1 else 0.5
    low, high = plane.ab_values[0] - half, plane.ab_values[-1] + half
    axis.imshow(plane.rgb, extent=(low, high, low, high), interpolation="nearest")
    axis.axhline(0.0, color="#999999", lw=0.6)
    axis.axvline(0.0, color="#999999", lw=0.6)
    if mark is not None:
        inside = not bool(out_of_gamut(np.array([[[plane.lightness, *mark]]], dtype=np.float64))[0, 0])
        axis.plot(*mark, marker="x", markersize=9, mew=2.2, color="black" if inside else "#b00020")
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)
    axis.set_xlabel("a   (green -  /  + red)", fontsize=8)
    axis.set_ylabel("b   (blue -  /  + yellow)", fontsize=8)
    axis.tick_params(labelsize=7)
    if title:
        axis.set_title(f"L = {plane.lightness:g}: {100 * plane.displayable_share:.1f}% displayable", fontsize=9)


def _figure_png(figure: Figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes (no pyplot: nothing is shown or kept open)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


class AbPlaneWidget(widgets.VBox):
    """An ``L`` slider and the ab plane at that lightness: every displayable (a, b) drawn in
    its colour, the rest left blank (white).

    The plane is :func:`colorlib.color.displayable_ab_plane`; a summary line gives the
    displayable share of the square -128..128 x -128..128, the ranges of a and b and the
    largest chroma. Static twin: :func:`plot_ab_planes`.

    Args:
        lightness: the slider's start, ``L`` in 0..100.
        mark: an optional ``(a, b)`` drawn as a cross (black when displayable at the
            current L, red when not), e.g. ``(80, -80)``.
        step: the grid spacing in ab units (1: 257 x 257 points).

    Attributes:
        lightness_slider: ``FloatSlider`` 0..100; setting its ``value`` redraws at once.
        image: the ``Image`` widget (PNG of the plane).
        summary: an ``HTML`` line with the plane's measures.
        plane: the :class:`AbPlane` on display.
        mark_displayable: whether ``mark`` is displayable at the current L (None without a mark).
    """

    def __init__(self, lightness: float = 50.0, mark: tuple[float, float] | None = None, step: float = 1.0) -> None:
        if mark is not None:
            numbers = (int, float, np.integer, np.floating)
            if not isinstance(mark, (tuple, list)) or len(mark) != 2 or not all(
                isinstance(v, numbers) and not isinstance(v, bool) and np.isfinite(v) for v in mark
            ):
                raise ValueError(f"AbPlaneWidget: expected mark=(a, b), two finite numbers, got {mark!r}")
            mark = (float(mark[0]), float(mark[1]))
        self.mark = mark
        self.step = step
        self.plane = describe_ab_plane(lightness, step)  # checks lightness and step first
        self.lightness_slider = widgets.FloatSlider(
            value=lightness, min=0.0, max=100.0, step=0.5, description="L",
            style={"description_width": "24px"}, layout=widgets.Layout(width="420px"),
        )
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        self.mark_displayable: bool | None = None
        super().__init__(children=[self.lightness_slider, self.image, self.summary])
        self.lightness_slider.observe(self._update, names="value")
        self._update()

    def set_lightness(self, lightness: float) -> AbPlane:
        """Move the slider (values beyond 0..100 are clipped to it); returns the plane shown."""
        self.lightness_slider.value = lightness
        return self.plane

    def _update(self, change: dict | None = None) -> None:
        self.plane = describe_ab_plane(self.lightness_slider.value, self.step)
        figure = Figure(figsize=(4.2, 4.2))
        _draw_ab_plane(figure.add_subplot(), self.plane, self.mark)
        figure.tight_layout()
        self.image.value = _figure_png(figure)
        plane = self.plane
        text = (
            f"L = {plane.lightness:g}: {100 * plane.displayable_share:.1f}% of the square displayable; "
            f"a {plane.a_range[0]:g}..{plane.a_range[1]:g}, b {plane.b_range[0]:g}..{plane.b_range[1]:g}, "
            f"largest chroma {plane.max_chroma:.1f}"
        )
        if self.mark is not None:
            lab = np.array([[[plane.lightness, *self.mark]]], dtype=np.float64)
            self.mark_displayable = not bool(out_of_gamut(lab)[0, 0])
            verdict = "displayable" if self.mark_displayable else "not displayable"
            text += f"; (a, b) = ({self.mark[0]:g}, {self.mark[1]:g}) is {verdict} at this L"
        self.summary.value = f'<span style="font-family:monospace">{html.escape(text)}</span>'


#: The lightnesses of :func:`plot_ab_planes`.
DEFAULT_AB_PLANE_LIGHTNESSES: tuple[float, ...] = (10.0, 30.0, 50.0, 70.0, 90.0, 97.0)


def plot_ab_planes(
    lightnesses: Sequence[float] = DEFAULT_AB_PLANE_LIGHTNESSES,
    columns: int = 3,
    mark: tuple[float, float] | None = None,
    step: float = 1.0,
) -> Figure:
    """The static twin of :class:`AbPlaneWidget`: the ab plane at several lightnesses.

    Each panel is what the widget draws for one ``L``: the displayable (a, b) in their
    colours, white elsewhere, titled with the displayable share of the square.

    Args:
        lightnesses: ``L`` values in 0..100, one panel each.
        columns: panels per row.
        mark: an optional ``(a, b)`` drawn as a cross in every panel.
        step: the grid spacing in ab units.
    """
    if len(lightnesses) == 0:
        raise ValueError("plot_ab_planes: expected at least one lightness (L in 0..100)")
    planes = [describe_ab_plane(lightness, step) for lightness in lightnesses]
    rows = -(-len(planes) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.flat[len(planes):]:
        axis.axis("off")
    for axis, plane in zip(axes.flat, planes):
        _draw_ab_plane(axis, plane, mark)
    figure.suptitle("The (a, b) a screen can show at each lightness L (white: no sRGB colour)", fontsize=11)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Notebook 02: a browser for the encoder's feature maps (layer and channel).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureMapChannel:
    """One channel of one feature map, as :class:`FeatureMapBrowser` describes it.

    Attributes:
        layer: the layer's name (``"layer2"``).
        channel: the channel's index, 0..channels - 1.
        channels, height, width: the layer's output shape (C, h, w).
        minimum, maximum: the channel's smallest and largest value.
        active_share: the share of its h x w positions with a value above 0, 0..1.
        activity_rank: 1 for the layer's most active channel (largest ``active_share``),
            ``channels`` for the least active.
    """

    layer: str
    channel: int
    channels: int
    height: int
    width: int
    minimum: float
    maximum: float
    active_share: float
    activity_rank: int


class FeatureMapBrowser(widgets.VBox):
    """Browse the encoder's feature maps: a layer menu and a channel slider.

    Shows the network's input beside one channel of one layer's output, drawn with
    the ``magma`` colour map on the channel's own scale (black = its minimum, light
    yellow = its maximum), and a line with the channel's measures
    (:class:`FeatureMapChannel`). Static twin: :func:`draw_feature_map_browser`.

    Args:
        maps: ``{layer name: feature map (C, h, w)}`` (tensors or arrays), e.g.
            :func:`colorlib.anatomy.encoder_feature_maps`.
        lightness: the input, ``L`` (H, W) in 0..100, shown beside the map.
        display_size: about how many pixels wide each picture is shown (maps are
            enlarged by whole factors, pixel by pixel).

    Attributes:
        layer_menu: ``Dropdown`` of the layer names.
        channel_slider: ``IntSlider`` 0..C - 1 (its maximum follows the layer).
        input_image, image: the ``Image`` widgets (input, chosen channel).
        summary: an ``HTML`` line with the channel's measures.
        channel: the :class:`FeatureMapChannel` on display.
    """

    def __init__(self, maps: dict, lightness: np.ndarray, display_size: int = 224) -> None:
        if not isinstance(maps, dict) or not maps:
            raise ValueError("FeatureMapBrowser: expected maps as a non-empty {layer name: (C, h, w)} dict")
        self.maps: dict[str, np.ndarray] = {}
        for name, feature_map in maps.items():
            array = np.asarray(feature_map.detach().cpu() if isinstance(feature_map, torch.Tensor) else feature_map)
            if array.ndim != 3 or 0 in array.shape or not np.issubdtype(array.dtype, np.floating):
                raise ValueError(
                    f"FeatureMapBrowser: expected {name!r} as a float feature map (C, h, w), "
                    f"got {array.dtype} shape {array.shape}"
                )
            self.maps[str(name)] = array
        lightness = np.asarray(lightness)
        if lightness.ndim != 2 or not np.issubdtype(lightness.dtype, np.number):
            raise ValueError(f"FeatureMapBrowser: expected lightness L as an (H, W) array in 0..100, got shape {lightness.shape}")
        if isinstance(display_size, bool) or not isinstance(display_size, (int, np.integer)) or display_size < 1:
            raise ValueError(f"FeatureMapBrowser: expected display_size as a positive number of pixels, got {display_size!r}")
        self.lightness = lightness
        self.display_size = int(display_size)
        first = next(iter(self.maps))
        self.layer_menu = widgets.Dropdown(options=list(self.maps), value=first, description="layer")
        self.channel_slider = widgets.IntSlider(
            value=0, min=0, max=self.maps[first].shape[0] - 1, description="channel",
            layout=widgets.Layout(width="420px"),
        )
        gray = np.round(np.clip(lightness, 0.0, 100.0) * 2.55).astype(np.uint8)
        self.input_image = widgets.Image(
            value=png_bytes(np.repeat(gray[..., None], 3, axis=-1), max(1, round(self.display_size / gray.shape[1]))),
            format="png",
        )
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.layer_menu, self.channel_slider]),
            widgets.HBox([self.input_image, self.image]),
            self.summary,
        ])
        self.layer_menu.observe(self._layer_changed, names="value")
        self.channel_slider.observe(self._update, names="value")
        self._update()

    def _check(self, layer: str, channel: int) -> np.ndarray:
        if layer not in self.maps:
            raise ValueError(f"FeatureMapBrowser: unknown layer {layer!r}; expected one of {', '.join(self.maps)}")
        channels = self.maps[layer].shape[0]
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
            raise ValueError(f"FeatureMapBrowser: expected a channel in 0..{channels - 1} for {layer}, got {channel!r}")
        return self.maps[layer][channel]

    def channels_by_activity(self, layer: str) -> list[int]:
        """The layer's channels, most active first (share of positions above 0; ties by index)."""
        self._check(layer, 0)
        shares = (self.maps[layer] > 0).mean(axis=(1, 2))
        return [int(c) for c in np.lexsort((np.arange(len(shares)), -shares))]

    def describe(self, layer: str, channel: int) -> FeatureMapChannel:
        """The measures of ``channel`` of ``layer`` (see :class:`FeatureMapChannel`)."""
        values = self._check(layer, channel)
        channels, height, width = self.maps[layer].shape
        return FeatureMapChannel(
            layer=layer, channel=int(channel), channels=channels, height=height, width=width,
            minimum=float(values.min()), maximum=float(values.max()),
            active_share=float((values > 0).mean()),
            activity_rank=self.channels_by_activity(layer).index(int(channel)) + 1,
        )

    def view(self, layer: str, channel: int) -> np.ndarray:
        """The picture of one channel: uint8 RGB (h, w, 3), ``magma`` from its minimum to its maximum.

        A constant channel (all zeros after a ReLU, say) is drawn black.
        """
        values = self._check(layer, channel).astype(np.float64)
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
        return np.round(matplotlib.colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)

    def show(self, layer: str, channel: int) -> FeatureMapChannel:
        """Set the menu and the slider (as a reader would) and return what is on display."""
        self._check(layer, channel)
        self.layer_menu.value = layer
        self.channel_slider.value = channel
        return self.channel

    def _layer_changed(self, change: dict | None = None) -> None:
        channels = self.maps[self.layer_menu.value].shape[0]
        if self.channel_slider.value > channels - 1:
            self.channel_slider.value = channels - 1  # before the maximum shrinks: one redraw
        self.channel_slider.max = channels - 1
        self._update()

    def _update(self, change: dict | None = None) -> None:
        layer, channel = self.layer_menu.value, self.channel_slider.value
        self.channel = facts = self.describe(layer, channel)
        self.image.value = png_bytes(self.view(layer, channel), max(1, round(self.display_size / facts.width)))
        text = (
            f"{layer}: {facts.channels} channels of {facts.height} x {facts.width}; channel {channel}: "
            f"values {facts.minimum:.2f} .. {facts.maximum:.2f}, above 0 at {100 * facts.active_share:.0f}% "
            f"of positions (rank {facts.activity_rank} of {facts.channels} by activity)"
        )
        self.summary.value = f'<span style="font-family:monospace">{html.escape(text)}</span>'


def draw_feature_map_browser(browser: FeatureMapBrowser, layers: Sequence[str] | None = None) -> Figure:
    """The static twin of :class:`FeatureMapBrowser`: three settings of the slider per layer.

    For each layer, the pictures the browser shows for its most active channel, a
    median one and its least active one (by the share of positions above 0), each
    titled with that share; the input is in the first column.

    Args:
        browser: the browser (its maps and input).
        layers: the layers to show, one row each (default: all of the browser's).
    """
    layers = list(browser.maps) if layers is None else list(layers)
    if not layers:
        raise ValueError("draw_feature_map_browser: expected at least one layer name")
    figure, axes = plt.subplots(len(layers), 4, figsize=(9.6, 2.55 * len(layers)), squeeze=False)
    for row, layer in enumerate(layers):
        order = browser.channels_by_activity(layer)
        picks = (("most active", order[0]), ("median", order[len(order) // 2]), ("least active", order[-1]))
        axes[row, 0].axis("off")
        if row == 0:
            axes[0, 0].imshow(browser.lightness, cmap="gray", vmin=0, vmax=100)
            axes[0, 0].set_title(f"input L {browser.lightness.shape[0]}x{browser.lightness.shape[1]}", fontsize=9)
        for column, (label, channel) in enumerate(picks, start=1):
            facts = browser.describe(layer, channel)
            axis = axes[row, column]
            axis.imshow(browser.view(layer, channel), interpolation="nearest")
            axis.set_title(f"ch {channel}, {label}: >0 at {100 * facts.active_share:.0f}%", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
        shape = browser.maps[layer].shape
        axes[row, 1].set_ylabel(f"{layer}\n{shape[1]}x{shape[2]}x{shape[0]}", fontsize=10, fontweight="bold")
    figure.suptitle("Feature maps, each channel on its own scale (magma: black = its minimum)", fontsize=11)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Notebook 06: a classification model's temperature, and its distribution at one pixel.
# --------------------------------------------------------------------------------------


def _classification_model(model: object, what: str) -> ColorizationNet:
    if not isinstance(model, ColorizationNet) or model.loss_name != "classification":
        kind = model.loss_name if isinstance(model, ColorizationNet) else type(model).__name__
        raise ValueError(
            f"{what}: expected a classification ColorizationNet (colorlib.load_pretrained of a run trained "
            f"with loss='classification'), got {kind}"
        )
    return model


def _shrunk(photo: np.ndarray, max_side: int) -> np.ndarray:
    """A uint8 RGB photo (any form load_image takes) shrunk (bicubic) to at most ``max_side`` on its longer side."""
    rgb = load_image(photo)
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    return rgb if scale >= 1 else resize(rgb, max(8, round(height * scale)), max(8, round(width * scale)))


@dataclass(frozen=True)
class TemperatureView:
    """A photo colorized by a classification model at one annealed-mean temperature.

    Attributes:
        temperature: ``T`` (1: the mean of the predicted distribution; towards 0: its mode).
        rgb: the colorized photo, uint8 ``(H, W, 3)``, its own lightness kept.
        colourfulness: Hasler and Suesstrunk's colourfulness of ``rgb`` (0 for gray).
        colourfulness_ratio: ``colourfulness`` over the photo's own.
        auc: AuC of ``rgb``'s ab against the photo's, %, 0..100.
        chroma: mean C*ab of ``rgb``.
    """

    temperature: float
    rgb: np.ndarray
    colourfulness: float
    colourfulness_ratio: float
    auc: float
    chroma: float


class TemperatureExplorer:
    """Notebook 06's temperature slider: one photo colorized at the annealed-mean temperature ``T``.

    Moving the slider recolours the photo (:func:`colorlib.colorize` with ``temperature=T``)
    and updates the line under it: colourfulness (and its ratio to the photo's own), AuC
    and mean chroma, all measured on what is shown. Static twin: :func:`draw_temperatures`.

    Args:
        model: a classification :class:`ColorizationNet`.
        photo: uint8 RGB ``(H, W, 3)`` (or a path), shrunk to ``max_side`` on its longer side.
        temperature: the slider's start (Zhang et al.: 0.38).
        max_side: the longer side of the photo as shown and measured, in pixels.

    Attributes:
        slider: ``FloatSlider`` 0.05..1; setting its ``value`` recolours at once.
        view: the :class:`TemperatureView` on display.
        photo: the (shrunk) ground truth, uint8.
        widget: the whole thing, to end a notebook cell with.

    Raises:
        ValueError: not a classification model, or a photo that cannot be read.
    """

    def __init__(self, model: ColorizationNet, photo: np.ndarray, temperature: float = ANNEALED_MEAN_TEMPERATURE,
                 max_side: int = 384) -> None:
        self.model = _classification_model(model, "TemperatureExplorer")
        self.photo = _shrunk(photo, max_side)
        self.true_ab = ab_of(self.photo)
        self.true_colourfulness = float(colourfulness(self.photo))
        self._views: dict[float, TemperatureView] = {}
        self.slider = widgets.FloatSlider(value=temperature, min=0.05, max=1.0, step=0.01, description="T",
                                          readout_format=".2f", continuous_update=False,
                                          layout=widgets.Layout(width="420px"))
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        truth = widgets.VBox([widgets.HTML("<b>ground truth</b>"), widgets.Image(value=png_bytes(self.photo), format="png")])
        result = widgets.VBox([widgets.HTML("<b>annealed mean at T</b>"), self.image])
        self.widget = widgets.VBox([self.slider, widgets.HBox([truth, result]), self.summary])
        self.slider.observe(self.update, names="value")
        self.update()

    def view_at(self, temperature: float) -> TemperatureView:
        """The photo colorized at ``temperature`` (> 0) and its measures (computed once per T)."""
        key = round(float(temperature), 6)
        if key not in self._views:
            rgb = colorize(self.photo, self.model, temperature=key)
            ab = ab_of(rgb)
            shown = float(colourfulness(rgb))
            self._views[key] = TemperatureView(key, rgb, shown, shown / max(self.true_colourfulness, 1e-12),
                                               float(ab_error_auc(ab, self.true_ab)), float(mean_chroma(ab)))
        return self._views[key]

    def update(self, change: dict | None = None) -> None:
        """Recolour the photo for the slider's value and rewrite the measures."""
        self.view = view = self.view_at(self.slider.value)
        self.image.value = png_bytes(view.rgb)
        line = (f"T = {view.temperature:.2f}: colourfulness {view.colourfulness:.1f} ({view.colourfulness_ratio:.2f} "
                f"of the photo's {self.true_colourfulness:.1f}), AuC {view.auc:.1f} %, mean chroma {view.chroma:.1f}")
        self.summary.value = f'<span style="font-family:monospace">{html.escape(line)}</span>'


def draw_temperatures(
    explorer: TemperatureExplorer,
    temperatures: Sequence[float] = (1.0, ANNEALED_MEAN_TEMPERATURE, 0.1),
    curve: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.38, 0.5, 0.7, 1.0),
    title: str = "",
) -> Figure:
    """Static twin of :class:`TemperatureExplorer`: the photo at a few temperatures, and the measures against ``T``.

    Top row: the ground truth, then the photo at each of ``temperatures`` (titles: T,
    colourfulness ratio, AuC). Bottom: colourfulness ratio and AuC for every ``T`` of
    ``curve`` (and of ``temperatures``).

    Raises:
        ValueError: no temperature, or one <= 0.
    """
    if len(temperatures) == 0:
        raise ValueError("draw_temperatures: expected at least one temperature > 0")
    views = [explorer.view_at(temperature) for temperature in temperatures]
    columns = len(views) + 1
    height, width = explorer.photo.shape[:2]
    panel = 3.0
    figure = plt.figure(figsize=(panel * columns, panel * height / width + 3.2), layout="constrained")
    grid = figure.add_gridspec(2, columns, height_ratios=(panel * height / width, 2.6))
    pictures = [figure.add_subplot(grid[0, column]) for column in range(columns)]
    pictures[0].imshow(explorer.photo)
    pictures[0].set_title(f"ground truth\ncolourfulness {explorer.true_colourfulness:.1f}", fontsize=9)
    for axis, view in zip(pictures[1:], views):
        axis.imshow(view.rgb)
        axis.set_title(f"T = {view.temperature:g}\ncolourfulness x{view.colourfulness_ratio:.2f}, AuC {view.auc:.1f} %",
                       fontsize=9)
    for axis in pictures:
        axis.set_xticks([])
        axis.set_yticks([])
    ratio_axis = figure.add_subplot(grid[1, :])
    sweep = sorted(set(round(float(t), 6) for t in (*curve, *temperatures)))
    measured = [explorer.view_at(temperature) for temperature in sweep]
    ratio_axis.plot(sweep, [view.colourfulness_ratio for view in measured], "o-", color="#1f77b4",
                    label="colourfulness ratio (left)")
    ratio_axis.axhline(1.0, color="#1f77b4", lw=0.6, ls=":")
    ratio_axis.set_xlabel("temperature T (1: the mean of the distribution; towards 0: its mode)", fontsize=9)
    ratio_axis.set_ylabel("colourfulness / the photo's", fontsize=9, color="#1f77b4")
    auc_axis = ratio_axis.twinx()
    auc_axis.plot(sweep, [view.auc for view in measured], "s--", color="#d62728", label="AuC % (right)")
    auc_axis.set_ylabel("AuC %", fontsize=9, color="#d62728")
    for temperature in temperatures:
        ratio_axis.axvline(temperature, color="#999999", lw=0.6)
    lines = ratio_axis.get_legend_handles_labels()[0] + auc_axis.get_legend_handles_labels()[0]
    ratio_axis.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    figure.suptitle(title or "One photo, one classification model, several temperatures", fontsize=11)
    return figure


def predicted_distributions(model: ColorizationNet, photo: np.ndarray) -> torch.Tensor:
    """A classification model's predicted colour distribution at every pixel of its input grid.

    Args:
        model: a classification :class:`ColorizationNet` (it sees the photo at its ``input_size``).
        photo: uint8 RGB ``(H, W, 3)`` or a path.

    Returns:
        float64 ``(1, Q, s, s)``: ``softmax`` of the logits, summing to 1 over the bins.

    Raises:
        ValueError: not a classification model.
    """
    model = _classification_model(model, "predicted_distributions")
    lightness = network_input([load_image(photo)], model.input_size)
    model.eval()
    with torch.inference_mode():
        return torch.softmax(model(lightness).double(), dim=1)


@dataclass(frozen=True)
class PixelPrediction:
    """What a classification model predicts at one pixel of its input grid.

    Attributes:
        row, column: the pixel on the network's ``s`` x ``s`` grid (0-based).
        lightness: its ``L`` (0..100), all the network was given there.
        probabilities: ``(Q,)`` the predicted distribution over the ab bins.
        modes: its two main colours and its mean (:func:`colorlib.losses.distribution_modes`).
        annealed: ``(a, b)``, the annealed mean at the explorer's temperature: the colour shown.
        mse: ``(a, b)`` the MSE model's prediction at the same pixel, or ``None``.
        truth: ``(a, b)`` of the photo at that pixel (the photo resized to ``s`` x ``s``).
    """

    row: int
    column: int
    lightness: float
    probabilities: np.ndarray = field(repr=False)
    modes: DistributionModes
    annealed: tuple[float, float]
    mse: tuple[float, float] | None
    truth: tuple[float, float]


class PixelDistributionExplorer:
    """Notebook 06's pixel picker: a classification model's colour distribution at one pixel.

    Two sliders pick a pixel of the network's ``s`` x ``s`` input grid (``s`` the model's
    ``input_size``). The picture shows the photo with the pixel marked, and the ab plane
    with the predicted probability of every bin (a disc per bin, its area the
    probability, drawn over the bins' colours at the pixel's ``L``), the two modes, the
    distribution's mean (what MSE would answer for this belief), the annealed mean, the
    MSE model's actual prediction there and the true colour. It starts at the pixel
    whose distribution hesitates most between two colours (:func:`colorlib.losses.bimodality`).
    Static twin: :func:`draw_pixel_distributions`.

    Args:
        classifier: a classification :class:`ColorizationNet`.
        photo: uint8 RGB ``(H, W, 3)`` or a path.
        mse_model: a regression :class:`ColorizationNet` run at the same ``s`` (or ``None``).
        temperature: of the annealed mean.
        pixel: ``(row, column)`` to start at (default: the most bimodal pixel).
        display_side: the longer side of the photo as drawn.

    Attributes:
        row, column: the ``IntSlider`` s; setting a ``value`` redraws at once.
        prediction: the :class:`PixelPrediction` on display.
        probabilities: ``(Q, s, s)`` float64, the distributions of every pixel.
        bimodality: ``(s, s)``, the second mode's mass at every pixel
            (:func:`colorlib.losses.mode_masses`); ``first_mode_mass`` the first's.
        widget: the whole thing, to end a notebook cell with.

    Raises:
        ValueError: not a classification model, an MSE model that is not a regression
            :class:`ColorizationNet`, a pixel outside the grid.
    """

    def __init__(self, classifier: ColorizationNet, photo: np.ndarray, mse_model: ColorizationNet | None = None,
                 temperature: float = ANNEALED_MEAN_TEMPERATURE, pixel: tuple[int, int] | None = None,
                 display_side: int = 256) -> None:
        self.model = _classification_model(classifier, "PixelDistributionExplorer")
        if mse_model is not None and (not isinstance(mse_model, ColorizationNet) or mse_model.loss_name == "classification"):
            raise ValueError("PixelDistributionExplorer: expected mse_model to be a regression ColorizationNet or None")
        self.bins = self.model.output_decoder.bins.detach().cpu()
        self.temperature = float(temperature)
        self.photo = load_image(photo)
        self.shown_photo = _shrunk(self.photo, display_side)
        size = self.size = self.model.input_size
        lightness = network_input([self.photo], size)
        self.model.eval()
        with torch.inference_mode():
            self.logits = self.model(lightness).double()
            self.mse_ab = None if mse_model is None else mse_model.eval().predict_ab(lightness)[0].double().numpy()
        self.probabilities = torch.softmax(self.logits, dim=1)[0].numpy()
        self.lightness = lightness[0, 0].double().numpy() * 100.0
        self.true_ab = rgb_to_lab(resize(self.photo, size, size) / 255.0)[..., 1:]
        first, second = mode_masses(torch.from_numpy(self.probabilities)[None], self.bins)
        self.first_mode_mass, self.bimodality = first[0].numpy(), second[0].numpy()
        start = self.most_bimodal_pixel() if pixel is None else self._check_pixel(pixel)
        self.row = widgets.IntSlider(value=start[0], min=0, max=size - 1, description="row", continuous_update=False)
        self.column = widgets.IntSlider(value=start[1], min=0, max=size - 1, description="column",
                                        continuous_update=False)
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.row, self.column]), self.image, self.summary])
        for slider in (self.row, self.column):
            slider.observe(self.update, names="value")
        self.update()

    def _check_pixel(self, pixel: tuple[int, int]) -> tuple[int, int]:
        if (not isinstance(pixel, (tuple, list)) or len(pixel) != 2
                or not all(isinstance(v, (int, np.integer)) and 0 <= v < self.size for v in pixel)):
            raise ValueError(f"PixelDistributionExplorer: expected a pixel (row, column) in 0..{self.size - 1}, got {pixel!r}")
        return int(pixel[0]), int(pixel[1])

    def most_bimodal_pixel(self) -> tuple[int, int]:
        """``(row, column)`` where the second colour gets the most probability."""
        row, column = np.unravel_index(int(np.argmax(self.bimodality)), self.bimodality.shape)
        return int(row), int(column)

    def most_confident_pixel(self) -> tuple[int, int]:
        """``(row, column)`` where the most likely colour (with its neighbours) gets the most probability."""
        row, column = np.unravel_index(int(np.argmax(self.first_mode_mass)), self.first_mode_mass.shape)
        return int(row), int(column)

    def at(self, row: int, column: int) -> PixelPrediction:
        """The prediction at one pixel of the grid."""
        row, column = self._check_pixel((row, column))
        probabilities = self.probabilities[:, row, column]
        logits = self.logits[:, :, row : row + 1, column : column + 1]
        annealed = annealed_mean(logits, self.bins, self.temperature)[0, :, 0, 0].tolist()
        return PixelPrediction(
            row=row,
            column=column,
            lightness=float(self.lightness[row, column]),
            probabilities=probabilities,
            modes=distribution_modes(torch.from_numpy(probabilities), self.bins),
            annealed=(float(annealed[0]), float(annealed[1])),
            mse=None if self.mse_ab is None else (float(self.mse_ab[0, row, column]), float(self.mse_ab[1, row, column])),
            truth=(float(self.true_ab[row, column, 0]), float(self.true_ab[row, column, 1])),
        )

    def update(self, change: dict | None = None) -> None:
        """Redraw for the sliders' pixel."""
        self.prediction = prediction = self.at(self.row.value, self.column.value)
        figure = Figure(figsize=(10.5, 3.9), layout="constrained")
        photo_axis, plane_axis = figure.subplots(1, 2, width_ratios=(1.0, 1.0))
        _draw_pixel_prediction(photo_axis, plane_axis, self, prediction)
        self.image.value = _figure_png(figure)
        modes = prediction.modes
        line = (f"pixel ({prediction.row}, {prediction.column}), L = {prediction.lightness:.0f}: modes "
                f"({modes.first[0]:g}, {modes.first[1]:g}) {modes.first_mass:.0%} and ({modes.second[0]:g}, "
                f"{modes.second[1]:g}) {modes.second_mass:.0%}; mean ({modes.mean[0]:.0f}, {modes.mean[1]:.0f}); "
                f"annealed mean at T = {self.temperature:g} ({prediction.annealed[0]:.0f}, {prediction.annealed[1]:.0f})")
        if prediction.mse is not None:
            line += f"; MSE model ({prediction.mse[0]:.0f}, {prediction.mse[1]:.0f})"
        line += f"; truth ({prediction.truth[0]:.0f}, {prediction.truth[1]:.0f})"
        self.summary.value = f'<span style="font-family:monospace">{html.escape(line)}</span>'


def _draw_pixel_prediction(photo_axis, plane_axis, explorer: PixelDistributionExplorer, prediction: PixelPrediction) -> None:
    """The photo with the pixel marked, and the pixel's distribution on the ab plane."""
    height, width = explorer.shown_photo.shape[:2]
    photo_axis.imshow(explorer.shown_photo)
    x, y = (prediction.column + 0.5) / explorer.size * width, (prediction.row + 0.5) / explorer.size * height
    photo_axis.plot(x, y, marker="+", markersize=16, mew=2.2, color="white")
    photo_axis.plot(x, y, marker="+", markersize=11, mew=1.0, color="black")
    photo_axis.set_xticks([])
    photo_axis.set_yticks([])
    photo_axis.set_title(f"pixel ({prediction.row}, {prediction.column}) of the {explorer.size} x {explorer.size} "
                         f"input, L = {prediction.lightness:.0f}", fontsize=9)
    bins = explorer.bins.double().numpy()
    lab = np.concatenate([np.full((len(bins), 1), prediction.lightness), bins], axis=1)
    background, extent = bins_on_grid(lab_to_rgb(lab[None])[0], explorer.bins, 1.0)
    plane_axis.imshow(background, extent=extent, interpolation="nearest", alpha=0.45)
    largest = max(float(prediction.probabilities.max()), 1e-12)
    plane_axis.scatter(bins[:, 0], bins[:, 1], s=260.0 * prediction.probabilities / largest, facecolors="none",
                       edgecolors="black", linewidths=0.7)
    modes = prediction.modes
    plane_axis.plot(*zip(modes.first, modes.second), color="#444444", lw=0.8, ls="--")
    for number, (ab, mass) in enumerate(((modes.first, modes.first_mass), (modes.second, modes.second_mass)), start=1):
        plane_axis.annotate(f"mode {number}: {mass:.0%}", ab, xytext=(6, 6), textcoords="offset points", fontsize=8)
    marks = [(modes.mean, "s", "mean (T = 1): what MSE would answer"),
             (prediction.annealed, "^", f"annealed mean, T = {explorer.temperature:g}")]
    if prediction.mse is not None:
        marks.append((prediction.mse, "X", "the MSE model's prediction"))
    marks.append((prediction.truth, "*", "true colour"))
    for ab, marker, label in marks:
        plane_axis.plot(*ab, marker=marker, markersize=8, markerfacecolor="white", markeredgecolor="black",
                        alpha=0.9, linestyle="none", label=label)
    plane_axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ab_plane_axes(plane_axis, "predicted distribution (disc area: probability)")


def draw_pixel_distributions(explorer: PixelDistributionExplorer, pixels: Sequence[tuple[int, int]] | None = None) -> Figure:
    """Static twin of :class:`PixelDistributionExplorer`: one row per pixel.

    Args:
        explorer: the explorer (its photo, models and temperature).
        pixels: ``(row, column)`` pairs; default the most bimodal pixel and the most
            confident one.
    """
    pixels = [explorer.most_bimodal_pixel(), explorer.most_confident_pixel()] if pixels is None else list(pixels)
    if not pixels:
        raise ValueError("draw_pixel_distributions: expected at least one pixel (row, column)")
    predictions = [explorer.at(*pixel) for pixel in pixels]
    figure = plt.figure(figsize=(10.5, 3.9 * len(predictions)), layout="constrained")
    axes = figure.subplots(len(predictions), 2, squeeze=False, width_ratios=(1.0, 1.0))
    for (photo_axis, plane_axis), prediction in zip(axes, predictions):
        _draw_pixel_prediction(photo_axis, plane_axis, explorer, prediction)
    return figure


# --------------------------------------------------------------------------------------
# Notebook 03: the last up-sampling, nearest or bilinear.
# --------------------------------------------------------------------------------------


class UpsamplingComparison:
    """The released model's colours with its last up-sampling done two ways, as a widget.

    A toggle picks ``nearest`` (the paper) or ``bilinear``; a slider zooms into the
    centre of the image so that the 2x2 blocks become visible. The picture is an
    ``widgets.Image`` holding a PNG, so it changes in the kernel itself (tests set
    ``mode.value`` or ``zoom.value`` and read ``image.value``).

    Args:
        model: a :class:`ColorizationNet` (e.g. ``load_pretrained("paper")``).
        photo: a square uint8 RGB photo (S, S, 3), S divisible by 8 (see :func:`colorlib.images.square_crop`).
        display_size: side of the shown picture in pixels.
    """

    ZOOMS = (1, 2, 4, 8)

    def __init__(self, model: ColorizationNet, photo: np.ndarray, display_size: int = 336) -> None:
        side = check_square_photo(photo, "UpsamplingComparison")
        self.photo = photo
        self.half_target = predict_half_resolution(model, network_input([photo], size=side))
        self._colorized: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.display_size = display_size
        self.mode = widgets.ToggleButtons(options=["nearest", "bilinear"], value="nearest", description="upsample")
        self.zoom = widgets.SelectionSlider(options=list(self.ZOOMS), value=1, description="zoom")
        self.image = widgets.Image(format="png")
        self.mode.observe(self.update, names="value")
        self.zoom.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.mode, self.zoom]), self.image])
        self.update()

    def view(self, mode: str, zoom: int) -> np.ndarray:
        """The colourized picture for ``mode`` and ``zoom``: uint8 (h, w, 3), the centre 1/zoom."""
        if zoom not in self.ZOOMS:
            raise ValueError(f"UpsamplingComparison.view: zoom must be one of {self.ZOOMS}, got {zoom!r}")
        rgb, _ = self.colorized(mode)
        height, width = rgb.shape[:2]
        h, w = height // zoom, width // zoom
        top, left = (height - h) // 2, (width - w) // 2
        return rgb[top : top + h, left : left + w]

    def colorized(self, mode: str) -> tuple[np.ndarray, np.ndarray]:
        """The whole photo for ``mode``: ``(rgb uint8 (S, S, 3), ab float32 (S, S, 2))``, computed once."""
        if mode not in self._colorized:
            self._colorized[mode] = colorize_from_half_resolution(self.photo, self.half_target, mode)
        return self._colorized[mode]

    def update(self, change=None) -> None:
        """Redraw ``self.image`` for the toggle's and slider's current values."""
        picture = self.view(self.mode.value, self.zoom.value)
        scale = max(1, self.display_size // picture.shape[0])
        self.image.value = png_bytes(picture, scale)


def draw_nearest_vs_bilinear(comparison: UpsamplingComparison, zoom: int = 8) -> Figure:
    """Static twin of :class:`UpsamplingComparison`: whole image and a zoomed centre, both modes.

    The third column shows the predicted ``a`` channel of the zoomed region, where the
    2x2 blocks of nearest up-sampling are plain to see.
    """
    figure, axes = plt.subplots(2, 3, figsize=(10.5, 7.2))
    for row, mode in enumerate(("nearest", "bilinear")):
        whole = comparison.view(mode, 1)
        zoomed = comparison.view(mode, zoom)
        _, ab = comparison.colorized(mode)
        h, w = zoomed.shape[:2]
        top, left = (ab.shape[0] - h) // 2, (ab.shape[1] - w) // 2
        a_crop = ab[top : top + h, left : left + w, 0]
        axes[row, 0].imshow(whole)
        axes[row, 0].add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="white", lw=1.5))
        axes[row, 1].imshow(zoomed, interpolation="nearest")
        axes[row, 2].imshow(a_crop, cmap="gray", interpolation="nearest")
        axes[row, 0].set_title(f"{mode}: whole image", fontsize=10)
        axes[row, 1].set_title(f"{mode}: centre {h}x{w}, zoom x{zoom}", fontsize=10)
        axes[row, 2].set_title(f"{mode}: predicted a, same crop", fontsize=10)
        for axis in axes[row]:
            axis.axis("off")
    figure.suptitle("The last nn.Upsample: nearest (the paper) vs bilinear")
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Notebook 07: colorize your own photos.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCandidate:
    """A model that notebook 07 can offer, if it exists.

    Attributes:
        label: its name in the menu.
        source: a name of :data:`colorlib.weights.PAPER_WEIGHTS` (``"paper"``: downloaded
            on first use) or the path of a checkpoint file (``runs/quick/best.pth``).
        how_to_get: one line saying how to make it exist, shown while it does not.
    """

    label: str
    source: str | Path
    how_to_get: str = ""

    @property
    def available(self) -> bool:
        """A registered name always is (it downloads); a path is when the file exists."""
        if isinstance(self.source, str) and self.source in PAPER_WEIGHTS:
            return True
        return Path(self.source).is_file()


def course_model_candidates(profile: Profile | None = None) -> list[ModelCandidate]:
    """The models of the course, in menu order: the released one, notebook 04's, notebook 06's.

    Args:
        profile: whose runs to look for (default :func:`colorlib.get_profile`).
    """
    profile = profile or get_profile()
    return [
        ModelCandidate("released model (the paper's authors)", "paper", "downloaded on first use"),
        ModelCandidate(
            f"quick MSE model (notebook 04, profile {profile.name})",
            course_model_path(profile),
            "run notebook 04 (or `colorlib train`) to make it",
        ),
        ModelCandidate(
            "classification model (notebook 06)",
            run_dir(profile.name).parent / f"{profile.name}-classification-rebalanced" / "best.pth",
            "run notebook 06 to make it",
        ),
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


class _AtTemperature(nn.Module):
    """A classification :class:`ColorizationNet` answering ``(ab + 128) / 255`` at one temperature.

    :func:`colorlib.inference.colorize_upload` takes no temperature; it runs any module
    that maps ``L / 100`` to ab targets, which this one does.
    """

    def __init__(self, model: ColorizationNet, temperature: float) -> None:
        super().__init__()
        self.model = model
        self.temperature = float(temperature)
        self.input_size = model.input_size

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return ab_to_target(self.model.predict_ab(lightness, self.temperature))


def _display_lab(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> its Lab, float32 (h, w, 3), shrunk to ``max_side`` for display."""
    return rgb_to_lab(photo_as_float(rgb, max_side))


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
    """Notebook 07's widget: upload a photo or pick a sample, pick a model, see and save the result.

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
        runner = _AtTemperature(model, self.temperature.value) if classification else model
        self.result, self.error = colorize_upload(data, self.name, runner, max_pixels=self.max_pixels)
        if self.result is None:
            self._show_error(self.error)
            return
        self.shown_lab = _display_lab(self.result, self.display_side)
        lightness_only = self.shown_lab.copy()
        lightness_only[..., 1:] = 0.0
        self.panels["input"].value = png_bytes(lab_to_rgb(lightness_only))
        self.panels["result"].value = png_bytes(photo_as_float(self.result, self.display_side))
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
        axes[row, 0].imshow(photo_as_float(rgb, max_side))
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
