"""Hints (notebook 08): colour hints for Levin et al.'s propagation and for the hint network,
measured against the number of hints on Kodak24, the click-to-hint widget with its static
twin, and the dullness question (one true hint per object).

The experiment (:func:`hint_experiment`): every photo gets, for each placement seed, the
first ``k`` of a seeded sequence of simulated hints with the photo's true colours
(:func:`colorlib.hints.simulate_hints`; the first ``k`` of a seed's 50 hints are exactly the
hints ``count=k`` gives, so the sets are nested), for each ``k`` of :data:`HINT_COUNTS`. Both
colorizers get the same hints, in pixels of the photo.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from ipyevents import Event
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..color import lab_to_rgb, rgb_to_lab
from ..evaluate import EvaluationImage
from ..hints import Hint, patch_bounds, simulate_hints
from ..images import load_image, resize
from ..inference import HintColorizer, colorize, replace_ab
from ..metrics import ab_error_auc, ab_of
from ..model import ColorizationNet
from ..propagation import propagate_hints
from .beyond_mse import score_colors
from .dullness import TOY_BLUE_AB, TOY_RED_AB, make_toy_images
from .plot import png_bytes

__all__ = [
    "HINT_COUNTS",
    "TOY_RED_AB",
    "TOY_BLUE_AB",
    "PLACEMENT_SEEDS",
    "METHODS",
    "placed_hints",
    "levin_colorize",
    "HintExperiment",
    "hint_experiment",
    "hint_table",
    "draw_hint_curves",
    "draw_hint_counts",
    "ObjectHintResult",
    "one_hint_per_object",
    "CLICK_TARGET",
    "HintExplorer",
    "hex_to_ab",
    "ab_to_hex",
]

#: The numbers of hints the experiment gives each photo.
HINT_COUNTS: tuple[int, ...] = (0, 1, 2, 5, 10, 20, 50)
#: The seeds of hint placement (each draws other points, patches and so colours): three, so
#: that a mean and a range say how much the scores depend on where the hints fall. Levin
#: et al.'s solves are most of the experiment's time (a tenth of a second or more each, one
#: per photo, count and seed).
PLACEMENT_SEEDS: tuple[int, ...] = (0, 1, 2)
#: The two colorizers that take hints, as the experiment names them.
METHODS: tuple[str, ...] = ("Levin et al. 2004", "hint network")


def _true_ab(rgb: np.ndarray) -> torch.Tensor:
    """A photo's true ab as :func:`simulate_hints` takes it: float32 ``(2, H, W)``."""
    return torch.from_numpy(np.ascontiguousarray(ab_of(rgb).transpose(2, 0, 1), dtype=np.float32))


def placed_hints(rgb: np.ndarray, *, count: int, seed: int, photo_index: int = 0) -> list[Hint]:
    """``count`` hints with the photo's true colours, placed by :func:`simulate_hints`.

    The generator is seeded with ``[seed, photo_index]``, so that every photo of a set gets
    its own placement and the first ``k`` hints of a larger ``count`` are the hints of
    ``count=k`` (nested sets).

    Args:
        rgb: the true photo, uint8 ``(H, W, 3)``.
        count: how many hints (>= 0).
        seed, photo_index: the placement's seed and the photo's place in its set.

    >>> photo = np.zeros((32, 48, 3), np.uint8); photo[..., 0] = 200
    >>> placed_hints(photo, count=5, seed=0)[:2] == placed_hints(photo, count=2, seed=0)
    True
    """
    return simulate_hints(_true_ab(rgb), seed=np.random.default_rng([seed, photo_index]), count=count)


def levin_colorize(rgb: np.ndarray, hints: Sequence[Hint]) -> np.ndarray:
    """The photo's lightness with Levin et al.'s propagation of ``hints`` (in its pixels): uint8 ``(H, W, 3)``.

    No hint: gray (a = b = 0 everywhere).
    """
    lightness = rgb_to_lab(load_image(rgb) / 255.0)[..., 0]
    ab = propagate_hints(lightness, list(hints))
    return replace_ab(rgb, ab.numpy().transpose(1, 2, 0))


@dataclass
class HintExperiment:
    """The scores of the hint experiment.

    Attributes:
        counts: the numbers of hints, :data:`HINT_COUNTS` by default.
        seeds: the placement seeds.
        scores: ``{method: {count: [score_colors dict per seed]}}`` for the methods of
            :data:`METHODS`.
        references: ``{name: score_colors dict}`` of the colorizers without hints (the
            automatic models), the same for every seed.
        hints: ``{seed: [the largest count's hints per photo]}``; ``hints[s][i][:k]`` are
            the ``k`` hints photo ``i`` got with seed ``s``.
    """

    counts: tuple[int, ...]
    seeds: tuple[int, ...]
    scores: dict[str, dict[int, list[dict[str, float]]]]
    references: dict[str, dict[str, float]]
    hints: dict[int, list[list[Hint]]] = field(repr=False)

    def mean(self, method: str, count: int, key: str) -> float:
        """The mean over the placement seeds of one score (``auc``, ``psnr``, ``colorfulness``, ...)."""
        return float(np.mean([scores[key] for scores in self.scores[method][count]]))

    def spread(self, method: str, count: int, key: str) -> tuple[float, float]:
        """The lowest and highest of one score over the placement seeds."""
        values = [scores[key] for scores in self.scores[method][count]]
        return float(min(values)), float(max(values))


def hint_experiment(
    photos: Sequence[EvaluationImage],
    hint_model: ColorizationNet,
    *,
    references: dict[str, ColorizationNet] | None = None,
    counts: Sequence[int] = HINT_COUNTS,
    seeds: Sequence[int] = PLACEMENT_SEEDS,
) -> HintExperiment:
    """Levin et al.'s propagation and ``hint_model`` on the same simulated true hints.

    Args:
        photos: the test photos (whole; small ones keep Levin's solve cheap).
        hint_model: a network that takes hints (``takes_hints``); its encoder runs once per
            photo (:class:`colorlib.inference.HintColorizer`).
        references: automatic models scored once each, without hints.
        counts: the numbers of hints (each >= 0).
        seeds: the placement seeds.

    Returns:
        A :class:`HintExperiment`; its scores are :func:`colorlib.lessons.beyond_mse.score_colors`
        (AuC %, PSNR dB, colourfulness, ...) over all photos.

    Raises:
        ValueError: no photos, a model that does not take hints, a negative count.
    """
    if not photos:
        raise ValueError("hint_experiment: expected at least one photo")
    counts, seeds = tuple(int(c) for c in counts), tuple(int(s) for s in seeds)
    if not counts or min(counts) < 0:
        raise ValueError(f"hint_experiment: expected counts >= 0, got {counts}")
    true_ab = [ab_of(photo.rgb) for photo in photos]
    colorizers = [HintColorizer(photo.rgb, hint_model) for photo in photos]
    scores: dict[str, dict[int, list[dict[str, float]]]] = {method: {c: [] for c in counts} for method in METHODS}
    placed: dict[int, list[list[Hint]]] = {}
    # Levin's sparse solves are most of the time, and SuperLU lets go of Python's lock while it
    # factorises: one solve per core at once (the same results, in about half the time on 2 cores).
    with ThreadPoolExecutor(max_workers=max(1, torch.get_num_threads())) as pool:
        for seed in seeds:
            placed[seed] = [placed_hints(photo.rgb, count=max(counts), seed=seed, photo_index=i)
                            for i, photo in enumerate(photos)]
            for count in counts:
                levin = list(pool.map(levin_colorize, [photo.rgb for photo in photos],
                                      [hints[:count] for hints in placed[seed]]))
                network = [colorizer.colorize(hints[:count]) for colorizer, hints in zip(colorizers, placed[seed])]
                scores[METHODS[0]][count].append(score_colors(levin, photos, true_ab=true_ab))
                scores[METHODS[1]][count].append(score_colors(network, photos, true_ab=true_ab))
    scored_references = {name: score_colors([colorize(photo.rgb, model) for photo in photos], photos, true_ab=true_ab)
                         for name, model in (references or {}).items()}
    return HintExperiment(counts, seeds, scores, scored_references, placed)


#: The table's columns: score key -> (heading, decimals).
TABLE_COLUMNS: dict[str, tuple[str, int]] = {"auc": ("AuC %", 1), "psnr": ("PSNR dB", 2),
                                             "colorfulness": ("colourfulness", 1)}


def hint_table(experiment: HintExperiment) -> str:
    """The experiment as plain text: one row per method and number of hints (means over the
    placement seeds, with their range), then the references at 0 hints and the truth."""
    rows: list[tuple[str, list[str]]] = []
    for method in METHODS:
        for count in experiment.counts:
            cells = []
            for key, (_, decimals) in TABLE_COLUMNS.items():
                low, high = experiment.spread(method, count, key)
                cells.append(f"{experiment.mean(method, count, key):.{decimals}f} ({low:.{decimals}f} to {high:.{decimals}f})")
            rows.append((f"{method}, {count} hints", cells))
    for name, scores in experiment.references.items():
        rows.append((f"{name}, no hint", [f"{scores[key]:.{d}f}" for key, (_, d) in TABLE_COLUMNS.items()]))
    first = experiment.scores[METHODS[0]][experiment.counts[0]][0]
    rows.append(("ground truth", ["100.0", "inf", f"{first['true_colorfulness']:.1f}"]))
    width = max(len(name) for name, _ in rows)
    widths = [max(len(heading), *(len(cells[i]) for _, cells in rows)) for i, (heading, _) in enumerate(TABLE_COLUMNS.values())]
    lines = [" " * width + "".join(f"  {heading:>{w}}" for (heading, _), w in zip(TABLE_COLUMNS.values(), widths))]
    lines += [f"{name:<{width}}" + "".join(f"  {cell:>{w}}" for cell, w in zip(cells, widths)) for name, cells in rows]
    return "\n".join(lines)


_COLORS = {METHODS[0]: "#ff7f0e", METHODS[1]: "#1f77b4"}
_REFERENCE_STYLES = ("--", ":", "-.")


def draw_hint_curves(experiment: HintExperiment, *, title: str = "") -> Figure:
    """AuC, PSNR and colourfulness against the number of hints: a line per method (mean over
    the placement seeds, the band their range), the automatic models as horizontal lines and
    the photos' own colourfulness as a gray one. The x axis is ``count + 1`` on a log scale
    (0 hints at 1)."""
    figure, axes = plt.subplots(1, 3, figsize=(13.5, 3.8), layout="constrained")
    x = np.array(experiment.counts, dtype=float) + 1
    for axis, (key, (heading, _)) in zip(axes, TABLE_COLUMNS.items()):
        for method in METHODS:
            means = [experiment.mean(method, c, key) for c in experiment.counts]
            lows, highs = zip(*(experiment.spread(method, c, key) for c in experiment.counts))
            axis.plot(x, means, "o-", color=_COLORS[method], label=method, ms=4)
            axis.fill_between(x, lows, highs, color=_COLORS[method], alpha=0.2, lw=0)
        for style, (name, scores) in zip(_REFERENCE_STYLES, experiment.references.items()):
            axis.axhline(scores[key], color="#444444", ls=style, lw=1, label=f"{name} (no hint)")
        if key == "colorfulness":
            truth = experiment.scores[METHODS[0]][experiment.counts[0]][0]["true_colorfulness"]
            axis.axhline(truth, color="#999999", lw=2, alpha=0.6, label="the photos' own")
        axis.set_xscale("log")
        axis.set_xticks(x, [str(c) for c in experiment.counts])
        axis.minorticks_off()
        axis.set_xlabel("hints per photo")
        axis.set_title(heading, fontsize=10)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    figure.suptitle(title or "Kodak24: colours against the number of true hints", fontsize=11)
    return figure


def _mark_hints(axis, hints: Sequence[Hint], shape: tuple[int, int]) -> None:
    """Outline each hint's patch (at least 5 pixels wide, so that it shows) in its own colour."""
    for hint in hints:
        rows, columns = patch_bounds(Hint(hint.row, hint.column, hint.ab, patch_size=max(hint.patch_size, 5)),
                                     height=shape[0], width=shape[1])
        color = lab_to_rgb(np.array([[[60.0, *hint.ab]]]))[0, 0]
        axis.add_patch(Rectangle((columns.start - 0.5, rows.start - 0.5), columns.stop - columns.start,
                                 rows.stop - rows.start, facecolor=np.clip(color, 0, 1), edgecolor="white", lw=1.2))


def draw_hint_counts(
    photo: np.ndarray, hint_model: ColorizationNet, *, counts: Sequence[int] = (0, 1, 3, 10), seed: int = 0,
    title: str = "",
) -> Figure:
    """Static twin of :class:`HintExplorer`: one photo with ``counts`` true hints (nested:
    :func:`placed_hints`), colorized by the hint network (top row) and by Levin et al.'s
    propagation (bottom row), the hints outlined; the ground truth on the left."""
    rgb = load_image(photo)
    hints = placed_hints(rgb, count=max(counts), seed=seed)
    colorizer = HintColorizer(rgb, hint_model)
    columns = len(counts) + 1
    height, width = rgb.shape[:2]
    figure, axes = plt.subplots(2, columns, figsize=(2.7 * columns, 2 * 2.7 * height / width + 0.8), layout="constrained")
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title("ground truth", fontsize=9)
    axes[1, 0].imshow(rgb.mean(axis=2), cmap="gray", vmin=0, vmax=255)
    axes[1, 0].set_title("what the colorizers see", fontsize=9)
    for column, count in enumerate(counts, start=1):
        for row, result in enumerate((colorizer.colorize(hints[:count]), levin_colorize(rgb, hints[:count]))):
            axes[row, column].imshow(result)
            _mark_hints(axes[row, column], hints[:count], (height, width))
            axes[row, column].set_title(f"{METHODS[1 - row]}, {count} hint{'s' if count != 1 else ''}", fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title or "The same true hints for the network (top) and for Levin et al. (bottom)", fontsize=11)
    return figure


@dataclass(frozen=True)
class ObjectHintResult:
    """The dullness question on lesson 06's toy: objects at one lightness, red or blue.

    Attributes:
        true_ab: ``(n, 2)`` each object's true ab.
        without_hint: ``(n, 2)`` the network's mean ab over each object, no hint.
        with_hint: ``(n, 2)`` the same with one true hint at the object's centre.
        error_without, error_with: mean ab distance from the truth over the objects.
        chroma_ratio_without, chroma_ratio_with: mean predicted chroma over the true one.
    """

    true_ab: np.ndarray
    without_hint: np.ndarray
    with_hint: np.ndarray
    error_without: float
    error_with: float
    chroma_ratio_without: float
    chroma_ratio_with: float


def one_hint_per_object(hint_model: ColorizationNet, *, count: int = 8, size: int = 64, patch_size: int = 3,
                        seed: int = 0) -> ObjectHintResult:
    """Give each object of lesson 06's toy images one true hint and measure how close the
    MSE-trained hint network's colour over the object comes to the truth.

    The toy (:func:`colorlib.lessons.dullness.make_toy_images`): ``count`` images of
    ``size`` x ``size``, a square object at L = 50 on a gray background, red in half of
    them, blue in the other half, at the same places: the lightness cannot tell the two
    colours apart. The hint: a ``patch_size`` square at the object's centre with its true
    colour.
    """
    toy = make_toy_images(count, size=size, seed=seed)
    true, without, with_hint = [], [], []
    for index in range(count):
        mask = toy.object_mask[index, 0].numpy()
        rows, columns = np.nonzero(mask)
        centre = (int(rows.mean()), int(columns.mean()))
        color = TOY_RED_AB if bool(toy.is_red[index]) else TOY_BLUE_AB
        lab = torch.cat([toy.lightness[index] * 100.0, toy.ab[index]]).permute(1, 2, 0).numpy()
        rgb = np.round(np.clip(lab_to_rgb(lab), 0, 1) * 255).astype(np.uint8)
        colorizer = HintColorizer(rgb, hint_model)
        for hints, store in (([], without), ([Hint(*centre, color, patch_size=patch_size)], with_hint)):
            ab = F.interpolate(colorizer.predict_ab(hints)[None], size=(size, size), mode="bilinear", align_corners=False)
            store.append(ab[0].permute(1, 2, 0).numpy()[mask].mean(axis=0))
        true.append(color)
    true_ab, without_ab, with_ab = (np.array(v, dtype=np.float64) for v in (true, without, with_hint))
    chroma = np.linalg.norm(true_ab, axis=1)
    return ObjectHintResult(
        true_ab, without_ab, with_ab,
        float(np.linalg.norm(without_ab - true_ab, axis=1).mean()), float(np.linalg.norm(with_ab - true_ab, axis=1).mean()),
        float((np.linalg.norm(without_ab, axis=1) / chroma).mean()), float((np.linalg.norm(with_ab, axis=1) / chroma).mean()),
    )


# --------------------------------------------------------------------------------------
# The widget.
# --------------------------------------------------------------------------------------


#: The CSS class of the picture that takes clicks (scripts/browser_check.py clicks it).
CLICK_TARGET = "colorlib-click-target"


def hex_to_ab(color: str) -> tuple[float, float]:
    """``"#rrggbb"`` -> its CIELAB ``(a, b)`` (the lightness is dropped: a hint keeps the photo's).

    >>> [round(v, 1) for v in hex_to_ab("#ff0000")]
    [80.1, 67.2]
    """
    text = str(color).strip()
    if len(text) != 7 or not text.startswith("#"):
        raise ValueError(f"hex_to_ab: expected a colour '#rrggbb', got {color!r}")
    rgb = np.array([[[int(text[i:i + 2], 16) / 255 for i in (1, 3, 5)]]])
    lab = rgb_to_lab(rgb)[0, 0]
    return float(np.clip(lab[1], -128, 127)), float(np.clip(lab[2], -128, 127))


def ab_to_hex(ab: tuple[float, float], *, lightness: float) -> str:
    """An ab at ``lightness`` (0..100) as ``"#rrggbb"`` (clipped to sRGB), for a colour picker.

    >>> ab_to_hex((0.0, 0.0), lightness=50.0)
    '#777777'
    """
    rgb = np.clip(lab_to_rgb(np.array([[[float(lightness), *ab]]]))[0, 0], 0, 1)
    return "#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb)


class HintExplorer:
    """Notebook 08's widget: click on the photo to put a hint, pick its colour, see the colorization.

    - A click on the right-hand picture adds a hint there and selects it; its colour starts
      as what the network predicts there now (``default_color="prediction"``) or the photo's
      true colour (``"truth"``), shown in the colour picker.
    - The colour picker and the patch slider change the **selected** hint; the list
      selects another; "remove" deletes the selected one.
    - "network" / "Levin" switches the colorizer. The network's encoder ran once
      (:class:`~colorlib.inference.HintColorizer`), so each change costs only its decoder;
      Levin's solve is about 0.1 s at this size.

    Clicks arrive through ``ipyevents`` (``Event`` on the ``Image`` widget): it reports the
    click in pixels of the picture itself (``dataX``, ``dataY``) whatever size it is shown at.

    Args:
        photo: uint8 RGB ``(H, W, 3)`` or a path, shrunk to ``max_side`` on its longer side.
        model: a :class:`ColorizationNet` that takes hints.
        hints: the hints to start with (in pixels of the shrunk photo).
        max_side: the longer side of the photo as shown and colorized.
        scale: the picture is shown ``scale`` times larger (pixel blocks).
        default_color: ``"prediction"`` or ``"truth"``.

    Attributes:
        hints: the current hints; ``selected`` the index of the selected one (or ``None``).
        result: the colorization on display, uint8 ``(H, W, 3)``.
        picture: the ``Image`` widget that takes clicks (CSS class :data:`CLICK_TARGET`).
        widget: the whole thing, to end a notebook cell with.
    """

    def __init__(self, photo: np.ndarray, model: ColorizationNet, *, hints: Sequence[Hint] = (), max_side: int = 256,
                 scale: int = 2, default_color: str = "prediction") -> None:
        if default_color not in ("prediction", "truth"):
            raise ValueError(f"HintExplorer: default_color must be 'prediction' or 'truth', got {default_color!r}")
        rgb = load_image(photo)
        shrink = max_side / max(rgb.shape[:2])
        if shrink < 1:
            rgb = resize(rgb, max(8, round(rgb.shape[0] * shrink)), max(8, round(rgb.shape[1] * shrink)))
        self.photo, self.scale, self.default_color = rgb, int(scale), default_color
        self.lab = rgb_to_lab(rgb / 255.0)
        self.colorizer = HintColorizer(rgb, model)
        self.hints: list[Hint] = list(hints)
        self.selected: int | None = len(self.hints) - 1 if self.hints else None
        self.method = widgets.ToggleButtons(options=["network", "Levin"], value="network", description="colorizer")
        self.picker = widgets.ColorPicker(value="#808080", description="colour", concise=False)
        self.patch = widgets.IntSlider(value=5, min=1, max=15, step=1, description="patch (px)", continuous_update=False)
        self.chooser = widgets.Dropdown(options=[], description="hint")
        self.remove = widgets.Button(description="remove hint", icon="trash")
        self.picture = widgets.Image(format="png")
        self.picture.add_class(CLICK_TARGET)
        self.status = widgets.HTML()
        self.events = Event(source=self.picture, watched_events=["click"])
        self.events.on_dom_event(self._on_click)
        truth = widgets.VBox([widgets.HTML("<b>ground truth</b>"),
                              widgets.Image(value=png_bytes(rgb, scale=self.scale), format="png")])
        shown = widgets.VBox([widgets.HTML("<b>click to put a hint</b>"), self.picture])
        controls = widgets.HBox([self.chooser, self.picker, self.patch, self.remove])
        self.widget = widgets.VBox([self.method, controls, widgets.HBox([truth, shown]), self.status])
        self._quiet = False
        self._sync_controls()
        self.method.observe(self.update, names="value")
        self.picker.observe(self._on_color, names="value")
        self.patch.observe(self._on_patch, names="value")
        self.chooser.observe(self._on_choose, names="value")
        self.remove.on_click(self._on_remove)
        self.update()

    # What a learner (or a test) can call directly.
    def colorized(self, hints: Sequence[Hint] | None = None, method: str | None = None) -> np.ndarray:
        """The photo colorized with ``hints`` (default the current ones) by ``method`` ("network" or "Levin")."""
        hints = self.hints if hints is None else list(hints)
        method = self.method.value if method is None else method
        return self.colorizer.colorize(hints) if method == "network" else levin_colorize(self.photo, hints)

    def add_hint(self, row: int, column: int, color: str | None = None) -> Hint:
        """Put a hint at ``(row, column)`` of the photo (of the default colour unless ``color``
        ``"#rrggbb"`` is given), select it and recolour."""
        row = min(max(int(row), 0), self.photo.shape[0] - 1)
        column = min(max(int(column), 0), self.photo.shape[1] - 1)
        if color is not None:
            ab = hex_to_ab(color)
        elif self.default_color == "truth":
            ab = tuple(float(v) for v in self.lab[row, column, 1:])
        else:
            ab = tuple(float(v) for v in rgb_to_lab(self.result[row:row + 1, column:column + 1] / 255.0)[0, 0, 1:])
        hint = Hint(row, column, (float(np.clip(ab[0], -128, 127)), float(np.clip(ab[1], -128, 127))),
                    patch_size=self.patch.value)
        self.hints.append(hint)
        self.selected = len(self.hints) - 1
        self._sync_controls()
        self.update()
        return hint

    def remove_selected(self) -> None:
        """Delete the selected hint (the previous one becomes selected) and recolour."""
        if self.selected is None:
            return
        del self.hints[self.selected]
        self.selected = (min(self.selected, len(self.hints) - 1)) if self.hints else None
        self._sync_controls()
        self.update()

    def update(self, change: dict | None = None) -> None:
        """Recolour the photo with the current hints and method; redraw the picture and the line."""
        self.result = self.colorized()
        shown = self.result.copy()
        for index, hint in enumerate(self.hints):  # each hint drawn as its patch (at least 3 px) with a frame
            rows, columns = patch_bounds(Hint(hint.row, hint.column, hint.ab, patch_size=max(hint.patch_size, 3)),
                                         height=shown.shape[0], width=shown.shape[1])
            frame = (255, 255, 0) if index == self.selected else (255, 255, 255)
            shown[rows, columns] = frame
            inner_rows = slice(rows.start + 1, max(rows.start + 1, rows.stop - 1))
            inner_columns = slice(columns.start + 1, max(columns.start + 1, columns.stop - 1))
            lab = np.concatenate([self.lab[inner_rows, inner_columns, :1],
                                  np.broadcast_to(np.array(hint.ab), self.lab[inner_rows, inner_columns, 1:].shape)], axis=-1)
            shown[inner_rows, inner_columns] = np.round(np.clip(lab_to_rgb(lab), 0, 1) * 255).astype(np.uint8)
        self.picture.value = png_bytes(shown, scale=self.scale)
        line = (f"{self.method.value}: {len(self.hints)} hint{'s' if len(self.hints) != 1 else ''}; "
                f"AuC {_auc(self.result, self.photo):.1f} % against the photo's true colours")
        self.status.value = f'<span style="font-family:monospace">{html.escape(line)}</span>'

    # Handlers.
    def _on_click(self, event: dict) -> None:
        column, row = event.get("dataX"), event.get("dataY")
        if column is None or row is None:  # an old ipyevents: the offset in the shown picture
            column, row = event.get("offsetX", 0) / self.scale, event.get("offsetY", 0) / self.scale
        elif self.scale != 1 and (column >= self.photo.shape[1] or row >= self.photo.shape[0]):
            column, row = column / self.scale, row / self.scale
        self.add_hint(int(row), int(column))

    def _sync_controls(self) -> None:
        self._quiet = True
        try:
            self.chooser.options = [(f"{i}: row {h.row}, column {h.column}", i) for i, h in enumerate(self.hints)]
            self.chooser.value = self.selected
            if self.selected is not None:
                hint = self.hints[self.selected]
                self.picker.value = ab_to_hex(hint.ab, lightness=float(self.lab[hint.row, hint.column, 0]))
                self.patch.value = min(max(hint.patch_size, self.patch.min), self.patch.max)
        finally:
            self._quiet = False

    def _replace_selected(self, **changes) -> None:
        if self._quiet or self.selected is None:
            return
        hint = self.hints[self.selected]
        values = {"row": hint.row, "column": hint.column, "ab": hint.ab, "patch_size": hint.patch_size, **changes}
        self.hints[self.selected] = Hint(**values)
        self.update()

    def _on_color(self, change: dict) -> None:
        self._replace_selected(ab=hex_to_ab(change["new"]))

    def _on_patch(self, change: dict) -> None:
        self._replace_selected(patch_size=int(change["new"]))

    def _on_choose(self, change: dict) -> None:
        if self._quiet or change["new"] is None:
            return
        self.selected = int(change["new"])
        self._sync_controls()
        self.update()

    def _on_remove(self, button: widgets.Button | None = None) -> None:
        self.remove_selected()


def _auc(predicted: np.ndarray, truth: np.ndarray) -> float:
    """AuC (%) of ``predicted``'s ab against ``truth``'s, both uint8 RGB."""
    return float(ab_error_auc(ab_of(predicted), ab_of(truth)))
