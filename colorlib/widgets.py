"""Every widget of the course, each with a static twin.

The widgets, built with ipywidgets:

- :func:`lab_swatch_widget`: ``L``, ``a`` and ``b`` sliders driving a colour swatch
  that shows its sRGB value (0..1, 0..255 and hex) and warns when the Lab colour is
  outside the sRGB gamut. Static twin: :func:`plot_lab_swatches`.
- :func:`photo_colour_widget`: on a photo, a chroma slider (0 to 2), a hue-rotation
  slider (degrees) and toggles that switch the ``a`` and ``b`` channels off. Static
  twin: :func:`plot_photo_edits`.
- :class:`UpsamplingComparison` (notebook 03): the released model's colours with the last
  up-sampling nearest or bilinear, and a zoom. Static twin: :func:`draw_nearest_vs_bilinear`.

Readers on GitHub see no widgets, so every widget has a matplotlib figure that shows
the same thing for a few fixed settings. The widgets keep their state in Python
attributes (``widget.colour``, ``widget.rgb``, ...) and update synchronously when a
slider's ``value`` is set, so tests and notebooks can drive them without a browser.
All colour work is done by :mod:`colorlib.color`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from .anatomy import check_square_photo, colorize_from_half_resolution, predict_half_resolution
from .color import lab_to_rgb, out_of_gamut, rgb_to_lab, scale_chroma_rotate_hue, zero_ab_channels
from .inference import network_input
from .metrics import mean_chroma
from .model import ColorizationNet
from .plot import png_bytes, show_images

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
    "UpsamplingComparison",
    "draw_nearest_vs_bilinear",
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
