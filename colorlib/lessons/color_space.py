"""The Lab colour space (notebook 01): Lab edits, swatches and the ab plane, with their
sliders; each widget has a static twin.

The widgets of notebook 01, built with ipywidgets:

- :func:`lab_swatch_widget`: ``L``, ``a`` and ``b`` sliders driving a colour swatch
  that shows its sRGB value (0..1, 0..255 and hex) and warns when the Lab colour is
  outside the sRGB gamut. Static twin: :func:`plot_lab_swatches`.
- :func:`photo_color_widget`: on a photo, a chroma slider (0 to 2), a hue-rotation
  slider (degrees) and toggles that switch the ``a`` and ``b`` channels off. Static
  twin: :func:`plot_photo_edits`.
- :class:`AbPlaneWidget`: an ``L`` slider and the ab plane at that lightness, the
  displayable colours drawn, the rest blank. Static twin: :func:`plot_ab_planes`.

The other lessons' widgets live in their lessons' modules, each with its static twin:
:class:`colorlib.lessons.encoder_anatomy.FeatureMapBrowser` (notebook 02),
:class:`colorlib.lessons.decoder_anatomy.UpsamplingComparison` (notebook 03),
:class:`colorlib.lessons.beyond_mse.TemperatureExplorer` and
:class:`colorlib.lessons.beyond_mse.PixelDistributionExplorer` (notebook 07),
:class:`colorlib.lessons.your_photos.PhotoColorizer` (notebook 09).

Readers on GitHub see no widgets, so every widget has a matplotlib figure that shows
the same thing for a few fixed settings. The widgets keep their state in Python
attributes (``widget.colour``, ``widget.rgb``, ...) and update synchronously when a
slider's ``value`` is set, so tests and notebooks can drive them without a browser.
All colour work is done by :mod:`colorlib.color`.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from ..color import (
    ArrayLike,
    _as_channel_first_tensor,
    _back,
    _finite_extremes,
    _matrix,
    ab_to_target,
    lab_to_network_input,
    lab_to_rgb,
    out_of_gamut,
    rgb_to_lab,
)
from ..metrics import mean_chroma
from .plot import png_bytes, show_images

__all__ = [
    "SwatchColor",
    "describe_lab_color",
    "LabSwatchWidget",
    "lab_swatch_widget",
    "DEFAULT_SWATCHES",
    "plot_lab_swatches",
    "PhotoEdit",
    "photo_as_float",
    "edit_photo_colors",
    "PhotoColorWidget",
    "photo_color_widget",
    "DEFAULT_PHOTO_EDITS",
    "plot_photo_edits",
    "AbPlane",
    "describe_ab_plane",
    "AbPlaneWidget",
    "DEFAULT_AB_PLANE_LIGHTNESSES",
    "plot_ab_planes",
    "scale_chroma_rotate_hue",
    "zero_ab_channels",
    "lab_false_color",
    "srgb_lab_extremes",
    "ab_grid",
    "displayable_ab_plane",
    "displayable_lightness",
]


# --------------------------------------------------------------------------------------
# (1) One Lab colour: sliders and a swatch.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwatchColor:
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


def describe_lab_color(lightness: float, a: float, b: float) -> SwatchColor:
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
            raise ValueError(f"describe_lab_color: expected a number for {name}, got {value!r}")
        values.append(float(value))
    lab = np.array(values, dtype=np.float64).reshape(1, 1, 3)
    rgb = lab_to_rgb(lab).reshape(3)  # raises ValueError for NaN / infinity
    rgb8 = tuple(int(v) for v in np.round(rgb * 255))
    return SwatchColor(
        lab=tuple(values),
        rgb=tuple(float(v) for v in rgb),
        rgb8=rgb8,
        hex="#{:02X}{:02X}{:02X}".format(*rgb8),
        in_gamut=not bool(out_of_gamut(lab).reshape(())),
    )


def _swatch_html(color: SwatchColor) -> str:
    """The swatch: a coloured box and its numbers, as HTML for an ``ipywidgets.HTML``."""
    lightness, a, b = color.lab
    lines = [
        f"Lab: L={lightness:.1f}, a={a:.1f}, b={b:.1f}",
        "sRGB 0..1: ({:.3f}, {:.3f}, {:.3f})".format(*color.rgb),
        "sRGB 0..255: ({}, {}, {})".format(*color.rgb8),
        f"hex: {color.hex}",
    ]
    if color.in_gamut:
        lines.append('<span style="color:#1a7f37">inside the sRGB gamut</span>')
    else:
        lines.append(
            '<b style="color:#b00020">&#9888; outside the sRGB gamut</b>: no sRGB colour has '
            "these Lab values; the box shows the clipped stand-in"
        )
    text = "<br>".join(line if line.startswith("<") else html.escape(line) for line in lines)
    return (
        '<div style="display:flex;align-items:center;gap:14px">'
        f'<div style="width:130px;height:90px;background:{color.hex};'
        'border:1px solid #777;border-radius:4px"></div>'
        f'<div style="font-family:monospace;line-height:1.5">{text}</div></div>'
    )


class LabSwatchWidget(widgets.VBox):
    """``L``, ``a`` and ``b`` sliders and a swatch (see :func:`lab_swatch_widget`).

    Attributes:
        lightness_slider, a_slider, b_slider: the ``FloatSlider`` widgets; setting
            their ``value`` updates the swatch at once.
        swatch: the ``HTML`` widget showing the colour and its numbers.
        colour: the :class:`SwatchColor` on display.
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
        self.color = describe_lab_color(lightness_slider.value, a_slider.value, b_slider.value)
        for slider in (lightness_slider, a_slider, b_slider):
            slider.observe(self._update, names="value")
        self._update()

    def set_lab(self, lightness: float, a: float, b: float) -> SwatchColor:
        """Move the three sliders (values beyond a slider's range are clipped to it)."""
        self.lightness_slider.value, self.a_slider.value, self.b_slider.value = lightness, a, b
        return self.color

    def _update(self, change: dict | None = None) -> None:
        self.color = describe_lab_color(
            self.lightness_slider.value, self.a_slider.value, self.b_slider.value
        )
        self.swatch.value = _swatch_html(self.color)


def lab_swatch_widget(lightness: float = 50.0, *, a: float = 0.0, b: float = 0.0) -> LabSwatchWidget:
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
    colors: Sequence[tuple[float, float, float]] = DEFAULT_SWATCHES, *, columns: int = 4
) -> Figure:
    """The static twin of :func:`lab_swatch_widget`: a grid of swatches.

    Each swatch is titled with its Lab value and labelled with the sRGB colour a screen
    shows (8-bit and hex); out-of-gamut colours are flagged in red.

    Args:
        colours: ``(L, a, b)`` triples.
        columns: swatches per row.
    """
    if len(colors) == 0:
        raise ValueError("plot_lab_swatches: expected at least one (L, a, b) colour")
    described = [describe_lab_color(*color) for color in colors]
    rows = -(-len(described) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.5 * columns, 2.6 * rows), squeeze=False)
    for axis in axes.flat[len(described):]:
        axis.axis("off")
    for axis, color in zip(axes.flat, described):
        axis.imshow(np.broadcast_to(np.array(color.rgb), (10, 14, 3)))
        axis.set_xticks([])
        axis.set_yticks([])  # a thin frame keeps white visible on the white page
        lightness, a, b = color.lab
        axis.set_title(f"L={lightness:g}  a={a:g}  b={b:g}", fontsize=9)
        label = "rgb {} {} {}  {}".format(*color.rgb8, color.hex)
        if not color.in_gamut:
            label += "\nOUT OF GAMUT (clipped)"
        axis.text(
            0.5, -0.04, label, transform=axis.transAxes, ha="center", va="top", fontsize=8.5,
            color="black" if color.in_gamut else "#b00020", family="monospace",
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


def photo_as_float(photo: np.ndarray, *, max_side: int | None = None) -> np.ndarray:
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


def edit_photo_colors(lab: np.ndarray, edit: PhotoEdit) -> tuple[np.ndarray, np.ndarray]:
    """Apply one :class:`PhotoEdit` to a Lab photo.

    The chroma is scaled and the hue rotated first
    (:func:`colorlib.lessons.color_space.scale_chroma_rotate_hue`), then the channels that are off
    are set to 0 (:func:`colorlib.lessons.color_space.zero_ab_channels`); ``L`` never changes.

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


class PhotoColorWidget(widgets.VBox):
    """Chroma and hue sliders and ``a`` / ``b`` toggles on a photo (see :func:`photo_color_widget`).

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
        rgb = photo_as_float(photo, max_side=max_side)
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
        self.edited_lab, self.rgb = edit_photo_colors(self.lab, self.edit)
        edited_chroma = float(mean_chroma(self.edited_lab[..., 1:]))
        clipped = float(out_of_gamut(self.edited_lab).mean())
        self.image.value = png_bytes(self.rgb)
        self.summary.value = (
            f'<span style="font-family:monospace">mean chroma {edited_chroma:.1f} '
            f"(photo: {self._mean_chroma:.1f}); pixels outside the sRGB gamut, clipped: "
            f"{100 * clipped:.1f}%</span>"
        )


def photo_color_widget(photo: np.ndarray, *, max_side: int | None = 256) -> PhotoColorWidget:
    """Build the photo widget: chroma (0 to 2) and hue-rotation sliders and toggles that
    switch the ``a`` and ``b`` channels off, showing the edited photo.

    Args:
        photo: ``(H, W, 3)`` RGB, uint8 or float in [0, 1].
        max_side: shrink larger photos to this longer side first (keeps it responsive);
            None keeps the size.
    """
    return PhotoColorWidget(photo, max_side)


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
    *,
    edits: Sequence[PhotoEdit] = DEFAULT_PHOTO_EDITS,
    columns: int = 4,
    max_side: int | None = 256,
) -> Figure:
    """The static twin of :func:`photo_color_widget`: the photo under several settings.

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
    lab = rgb_to_lab(photo_as_float(photo, max_side=max_side))
    images, titles = [], []
    for edit in edits:
        edited, rgb = edit_photo_colors(lab, edit)
        clipped = float(out_of_gamut(edited).mean())
        images.append(rgb)
        titles.append(edit.title + (f"\n{100 * clipped:.0f}% clipped" if clipped >= 0.005 else ""))
    return show_images(images, titles=titles, columns=columns, size=2.8)


# --------------------------------------------------------------------------------------
# Notebook 01: the ab plane at one lightness (a slice of the sRGB gamut).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbPlane:
    """The (a, b) colours a screen can show at one lightness, with a few measures.

    Attributes:
        lightness: ``L`` (0..100).
        ab_values: the grid's a (and b) values, ascending (:func:`colorlib.lessons.color_space.ab_grid`).
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


def describe_ab_plane(lightness: float, *, step: float = 1.0, limit: float = 128.0) -> AbPlane:
    """The ab plane at ``lightness`` (:func:`colorlib.lessons.color_space.displayable_ab_plane`) and its measures.

    Args:
        lightness: ``L`` in 0..100.
        step, limit: the grid, ``-limit..limit`` in steps of ``step`` (ab units).

    Raises:
        ValueError: ``lightness`` outside 0..100, or a bad grid.

    >>> plane = describe_ab_plane(0.0, step=16.0)
    >>> plane.displayable_share > 0, plane.max_chroma   # at L = 0 only black: (a, b) = (0, 0)
    (True, 0.0)
    """
    rgb, displayable = displayable_ab_plane(lightness, step=step, limit=limit)
    values = ab_grid(step, limit=limit)
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

    The plane is :func:`colorlib.lessons.color_space.displayable_ab_plane`; a summary line gives the
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
        self.plane = describe_ab_plane(lightness, step=step)  # checks lightness and step first
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
        self.plane = describe_ab_plane(self.lightness_slider.value, step=self.step)
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
    *,
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
    planes = [describe_ab_plane(lightness, step=step) for lightness in lightnesses]
    rows = -(-len(planes) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.flat[len(planes):]:
        axis.axis("off")
    for axis, plane in zip(axes.flat, planes):
        _draw_ab_plane(axis, plane, mark)
    figure.suptitle("The (a, b) a screen can show at each lightness L (white: no sRGB colour)", fontsize=11)
    figure.tight_layout()
    return figure


def _finite_number(value: object, what: str, minimum: float | None = None) -> float:
    """``value`` as a float, or a ValueError naming ``what`` and the expected range."""
    expected = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what}: expected {expected}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ValueError(f"{what}: expected {expected}, got {number!r}")
    return number


def scale_chroma_rotate_hue(lab: ArrayLike, chroma_scale: float, hue_degrees: float) -> ArrayLike:
    """Scale the colourfulness and turn the hue of Lab pixels, keeping ``L`` unchanged.

    Each pixel's ``(a, b)`` is a point in the colour plane: its distance from the gray
    axis (0, 0) is the chroma, its angle the hue. This multiplies the chroma by
    ``chroma_scale`` and rotates the angle by ``hue_degrees`` (counter-clockwise, from
    +a = red towards +b = yellow):

        a' = s * (a cos t - b sin t),   b' = s * (a sin t + b cos t)

    ``chroma_scale=0`` gives a gray image with the same ``L``; 1 and 0 degrees give the
    input back. Results may leave the sRGB gamut (see :func:`out_of_gamut`).

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)``: ``L`` in
            0..100, ``a`` and ``b`` in about -128..127.
        chroma_scale: factor >= 0 for the chroma (0 gray, 1 unchanged, 2 twice as vivid).
        hue_degrees: rotation of the hue angle in degrees (any finite number).

    Returns:
        Lab of the same kind, shape, dtype and device.

    Raises:
        ValueError: wrong shape or dtype, NaN in ``lab``, a negative or non-finite scale,
            a non-finite angle.
    """
    scale = _finite_number(chroma_scale, "scale_chroma_rotate_hue: chroma_scale", minimum=0.0)
    angle = math.radians(_finite_number(hue_degrees, "scale_chroma_rotate_hue: hue_degrees"))
    tensor, was_numpy = _as_channel_first_tensor(lab, "scale_chroma_rotate_hue", "Lab values")
    _finite_extremes(tensor, "scale_chroma_rotate_hue")
    lightness, a, b = tensor.unbind(dim=-3)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    edited = torch.stack((lightness, cos * a - sin * b, sin * a + cos * b), dim=-3)
    return _back(edited, was_numpy)


def zero_ab_channels(lab: ArrayLike, *, a: bool = True, b: bool = True) -> ArrayLike:
    """Switch the ``a`` and/or ``b`` channel off (set it to 0), keeping ``L``.

    With both off every pixel becomes the gray of its own lightness; with ``a`` off
    only the blue-yellow axis is left, with ``b`` off only the green-red axis.

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)`` (Lab).
        a: set ``a`` to 0.
        b: set ``b`` to 0.

    Returns:
        A new Lab array or tensor of the same kind, shape, dtype and device.

    Raises:
        ValueError: wrong shape or dtype, or ``a`` / ``b`` not booleans.
    """
    for name, flag in (("a", a), ("b", b)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"zero_ab_channels: expected {name}=True or False, got {flag!r}")
    tensor, was_numpy = _as_channel_first_tensor(lab, "zero_ab_channels", "Lab values")
    keep = _matrix((1.0, 0.0 if a else 1.0, 0.0 if b else 1.0), tensor).view(3, 1, 1)
    return _back(tensor * keep, was_numpy)


def lab_false_color(lab: ArrayLike) -> ArrayLike:
    """The paper's "CIELAB" panel: a Lab image shown as if its channels were R, G and B.

    Each channel is brought to about 0..1 with the paper's scalings, the network input
    ``L / 100`` (:func:`lab_to_network_input`) and the targets ``(ab + 128) / 255``
    (:func:`ab_to_target`), and the three are then displayed as red, green and blue.
    It is a false-colour picture of the numbers, not the photo's colours: gray pixels
    (``a = b = 0``) come out pink-gray-teal shades of ``(L/100, 0.5, 0.5)``, white as
    pink ``(1, 0.5, 0.5)``.

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)`` (Lab).

    Returns:
        Same kind, shape and dtype; values in [0, 1] for Lab values in the usual ranges
        (``L`` 0..100, ``a``, ``b`` -128..127).
    """
    tensor, was_numpy = _as_channel_first_tensor(lab, "lab_false_color", "Lab values")
    lightness, ab = tensor.split([1, 2], dim=-3)
    shown = torch.cat((lab_to_network_input(lightness), ab_to_target(ab)), dim=-3)
    return _back(shown, was_numpy)


def srgb_lab_extremes(steps: int = 52) -> dict[str, dict[str, object]]:
    """Measure the range of ``L``, ``a`` and ``b`` over the sRGB gamut.

    Converts a regular grid of ``steps**3`` sRGB colours (its corners, the primaries,
    secondaries, black and white, included; 52 steps are the 8-bit values 0, 5, ...,
    255) and reports, for each channel, the smallest and largest value and the sRGB
    colour (8-bit) that reaches it. The extremes of ``a`` and ``b`` lie on corners of
    the RGB cube, so a coarse grid finds them exactly.

    Args:
        steps: grid points per RGB axis, 2..256.

    Returns:
        ``{"L": {"min": float, "min_rgb": (r, g, b), "max": float, "max_rgb": (r, g, b)},
        "a": {...}, "b": {...}}`` with 8-bit ``(r, g, b)`` tuples.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 2 <= steps <= 256:
        raise ValueError(f"srgb_lab_extremes: expected an integer number of steps in 2..256, got {steps!r}")
    levels = torch.linspace(0.0, 1.0, int(steps), dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(3, 1, -1)
    lab = rgb_to_lab(grid).reshape(3, -1)  # one image, 1 x steps**3 pixels
    rgb8 = (grid * 255).round().to(torch.int64).reshape(3, -1)
    extremes = {}
    for index, name in enumerate("Lab"):
        channel = lab[index]
        low, high = int(torch.argmin(channel)), int(torch.argmax(channel))
        extremes[name] = {
            "min": float(channel[low]),
            "min_rgb": tuple(int(v) for v in rgb8[:, low]),
            "max": float(channel[high]),
            "max_rgb": tuple(int(v) for v in rgb8[:, high]),
        }
    return extremes


def ab_grid(step: float = 1.0, *, limit: float = 128.0) -> np.ndarray:
    """The a (and b) values of an ab-plane grid: ``-limit, -limit + step, ..., +limit``.

    Args:
        step: grid spacing in ab units (> 0); ``limit / step`` must be a whole number, so
            that 0 (gray) is on the grid.
        limit: the grid runs from ``-limit`` to ``+limit`` (> 0, ab units).

    Returns:
        float64 array of ``2 * limit / step + 1`` values, ascending, 0 in the middle.

    >>> ab_grid(step=64.0)
    array([-128.,  -64.,    0.,   64.,  128.])
    """
    step = _finite_number(step, "ab_grid: step", minimum=0.0)
    limit = _finite_number(limit, "ab_grid: limit", minimum=0.0)
    if step == 0.0 or limit == 0.0:
        raise ValueError(f"ab_grid: expected step > 0 and limit > 0, got step={step:g}, limit={limit:g}")
    half = limit / step  # intervals on each side of 0
    if round(half) < 1 or abs(half - round(half)) > 1e-9 * half or round(half) > 2048:
        raise ValueError(
            f"ab_grid: expected a step that divides limit = {limit:g} into 1 to 2048 whole "
            f"intervals, got step={step:g}"
        )
    return step * np.arange(-round(half), round(half) + 1, dtype=np.float64)


def displayable_ab_plane(
    lightness: float, *, step: float = 1.0, limit: float = 128.0, blank: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The slice of the sRGB gamut at one lightness: every (a, b) a screen can show at ``L``.

    The grid is :func:`ab_grid` on both axes, laid out like a plot of the ab plane:
    column ``j`` has ``a = ab_grid(step, limit)[j]`` (green on the left, red on the
    right) and row ``i`` has ``b = ab_grid(step, limit)[::-1][i]`` (yellow at the top,
    blue at the bottom), so gray (0, 0) is the centre pixel.

    Args:
        lightness: ``L`` in 0..100.
        step, limit: the grid (see :func:`ab_grid`); 1 and 128 give 257 x 257 pixels.
        blank: the value (0..1) of all three channels where no sRGB colour exists
            (1.0: white).

    Returns:
        ``(rgb, displayable)``: sRGB float64 ``(n, n, 3)`` in [0, 1], the colour of each
        displayable (a, b) and ``blank`` elsewhere; and a bool mask ``(n, n)``, True where
        ``(L, a, b)`` is inside the sRGB gamut (:func:`out_of_gamut` is False).

    Raises:
        ValueError: ``lightness`` outside 0..100 or not a number, a bad grid, ``blank``
            outside 0..1.

    >>> rgb, displayable = displayable_ab_plane(100.0, step=64.0)
    >>> int(displayable.sum()), bool(displayable[2, 2])  # at L = 100 only white (a = b = 0)
    (1, True)
    """
    lightness = _finite_number(lightness, "displayable_ab_plane: lightness", minimum=0.0)
    if lightness > 100.0:
        raise ValueError(f"displayable_ab_plane: expected lightness (L) in 0..100, got {lightness:g}")
    blank = _finite_number(blank, "displayable_ab_plane: blank", minimum=0.0)
    if blank > 1.0:
        raise ValueError(f"displayable_ab_plane: expected blank in 0..1, got {blank:g}")
    values = ab_grid(step, limit=limit)
    a, b = np.meshgrid(values, values[::-1])
    lab = np.stack((np.full_like(a, lightness), a, b), axis=-1)
    displayable = ~out_of_gamut(lab)
    rgb = lab_to_rgb(lab)
    rgb[~displayable] = blank
    return rgb, displayable


def displayable_lightness(a: float, b: float, *, step: float = 0.5) -> np.ndarray:
    """The lightnesses at which the colour ``(a, b)`` exists on an sRGB screen.

    Args:
        a: green (< 0) to red (> 0), ab units.
        b: blue (< 0) to yellow (> 0), ab units.
        step: spacing of the tested ``L`` values ``0, step, ..., 100`` (``100 / step``
            must be a whole number).

    Returns:
        float64 array of the ``L`` values (ascending) at which ``(L, a, b)`` is inside the
        sRGB gamut; empty when there are none. For ``a = b = 0`` that is every L.

    >>> lightness = displayable_lightness(80.0, -80.0)
    >>> float(lightness.min()), float(lightness.max())  # a purple that exists only at L 41..48.5
    (41.0, 48.5)
    """
    a = _finite_number(a, "displayable_lightness: a")
    b = _finite_number(b, "displayable_lightness: b")
    step = _finite_number(step, "displayable_lightness: step", minimum=0.0)
    intervals = 100.0 / step if step > 0 else math.inf
    if not math.isfinite(intervals) or abs(intervals - round(intervals)) > 1e-9 * intervals or intervals > 100_000:
        raise ValueError(f"displayable_lightness: expected a step > 0 that divides 100 into whole intervals, got {step:g}")
    lightness = step * np.arange(round(intervals) + 1, dtype=np.float64)
    lab = np.stack((lightness, np.full_like(lightness, a), np.full_like(lightness, b)), axis=-1)[None]
    return lightness[~out_of_gamut(lab)[0]]
