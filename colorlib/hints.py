"""Colour hints as data: points with an ab colour, the maps a network sees, simulated hints.

A user guides a colorization by clicking a few points and giving each a colour (Zhang
et al. 2017, *Real-Time User-Guided Image Colorization with Learned Deep Priors*). Here:

- a :class:`Hint` is a point ``(row, column)`` of a photo, a square patch of
  ``patch_size`` pixels around it, and an ab colour (CIELAB ``a`` and ``b``, each in
  -128..127; the hint's lightness is the photo's own);
- :func:`hint_maps` turns a set of hints into the two maps a network takes beside ``L``,
  at the network's input size: ``ab_map`` (2, H, W), the hinted ab where there is a hint
  and 0 elsewhere, and ``mask`` (1, H, W), 1 where there is a hint and 0 elsewhere;
- :func:`simulate_hints` draws hints from a photo's true colours as Zhang et al. 2017 did
  for training and testing (seeded: the same seed gives the same hints on every run);
- :func:`read_hints` reads the hints a user wrote in a JSON file, with a clear error
  naming the bad entry.

**The patch.** A hint at ``(row, column)`` with ``patch_size`` ``p`` covers rows
``row - (p - 1) // 2`` to ``row + p // 2`` and the same for columns: centred on the point
for odd ``p``, one pixel more below and to the right for even ``p``; clipped to the photo.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from .color import rgb_to_lab

__all__ = [
    "AB_RANGE",
    "GEOMETRIC_P",
    "PATCH_SIZES",
    "Hint",
    "patch_bounds",
    "hint_maps",
    "simulate_hints",
    "simulated_hint_maps",
    "read_hints",
]

#: The range allowed for each of a hint's ``a`` and ``b`` (the conventional 8-bit Lab range).
AB_RANGE = (-128.0, 127.0)
#: Zhang et al. 2017: the number of simulated hints is geometric with this ``p`` (mean 7).
GEOMETRIC_P = 1 / 8
#: Zhang et al. 2017: simulated patches are 1 to 9 pixels wide, each size equally likely.
PATCH_SIZES = tuple(range(1, 10))

HintSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def _whole_number(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (not a bool), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


@dataclass(frozen=True)
class Hint:
    """One colour hint: the point ``(row, column)``, its ab colour and its patch size.

    Attributes:
        row, column: the point, in pixels of the image the hint belongs to (0-based,
            row 0 at the top); whole numbers >= 0.
        ab: ``(a, b)`` in CIELAB units, each in -128..127 (:data:`AB_RANGE`).
        patch_size: the side of the square patch the colour covers, in pixels, >= 1
            (see the module docstring for where the patch lies).

    Raises:
        ValueError: a negative or fractional row or column, an ab that is not two finite
            numbers in range, a patch size below 1.

    >>> Hint(10, 20, (20.0, -30.0), patch_size=3)
    Hint(row=10, column=20, ab=(20.0, -30.0), patch_size=3)
    >>> Hint(-1, 0, (0, 0))
    Traceback (most recent call last):
    ...
    ValueError: Hint: row must be a whole number >= 0, got -1
    """

    row: int
    column: int
    ab: tuple[float, float]
    patch_size: int = 1

    def __post_init__(self) -> None:
        for name in ("row", "column"):
            value = _whole_number(getattr(self, name))
            if value is None or value < 0:
                raise ValueError(f"Hint: {name} must be a whole number >= 0, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        size = _whole_number(self.patch_size)
        if size is None or size < 1:
            raise ValueError(f"Hint: patch_size must be a whole number >= 1, got {self.patch_size!r}")
        object.__setattr__(self, "patch_size", size)
        try:
            a, b = (float(v) for v in self.ab)
        except (TypeError, ValueError):
            raise ValueError(f"Hint: ab must be two numbers (a, b), got {self.ab!r}") from None
        low, high = AB_RANGE
        if not all(math.isfinite(v) and low <= v <= high for v in (a, b)):
            raise ValueError(f"Hint: ab must be two finite numbers in {low:g}..{high:g}, got {self.ab!r}")
        object.__setattr__(self, "ab", (a, b))


def patch_bounds(hint: Hint, *, height: int, width: int) -> tuple[slice, slice]:
    """The rows and columns a hint's patch covers in an image of ``height`` x ``width``.

    Returns:
        ``(rows, columns)`` as slices, clipped to the image (empty when the point lies
        outside it).

    >>> patch_bounds(Hint(0, 5, (0, 0), patch_size=3), height=4, width=6)
    (slice(0, 2, None), slice(4, 6, None))
    """
    return (_span(hint.row, hint.patch_size, height), _span(hint.column, hint.patch_size, width))


def _span(centre: int, size: int, limit: int) -> slice:
    start = centre - (size - 1) // 2
    return slice(min(max(start, 0), limit), min(max(start + size, 0), limit))


def _check_size(value: int, what: str) -> int:
    size = _whole_number(value)
    if size is None or size < 1:
        raise ValueError(f"{what} must be a whole number >= 1, got {value!r}")
    return size


def _rescaled(hint: Hint, from_size: tuple[int, int], height: int, width: int) -> tuple[slice, slice]:
    """The patch of ``hint`` (in pixels of a ``from_size`` photo) on the ``height`` x ``width`` grid."""
    photo_height, photo_width = (_check_size(v, "hint_maps: from_size") for v in from_size)
    if hint.row >= photo_height or hint.column >= photo_width:
        raise ValueError(f"hint_maps: {hint} lies outside the {photo_height}x{photo_width} photo")
    spans = []
    for centre, photo_side, side in ((hint.row, photo_height, height), (hint.column, photo_width, width)):
        scale = side / photo_side
        new_centre = min(int((centre + 0.5) * scale), side - 1)  # the pixel holding the point's centre
        spans.append(_span(new_centre, max(1, round(hint.patch_size * scale)), side))
    return spans[0], spans[1]


def hint_maps(
    hints: Sequence[Hint], *, height: int, width: int, from_size: tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two maps a network takes beside ``L``: the hinted ab colours and where they are.

    Args:
        hints: the hints; where patches overlap, the later hint wins.
        height, width: the size of the maps (the network's input size).
        from_size: ``(photo_height, photo_width)`` when the hints are in pixels of a photo
            of another size: each point moves to the map pixel that holds its centre
            (``(row + 0.5) * height / photo_height``, rounded down), each patch side is
            scaled the same way (rounded, at least 1 pixel). ``None``: the hints are in
            pixels of the maps already.

    Returns:
        ``(ab_map, mask)``: float32 tensors ``(2, H, W)`` (ab in Lab units, about
        -128..127, 0 where there is no hint) and ``(1, H, W)`` (1.0 on hinted pixels,
        0.0 elsewhere).

    Raises:
        ValueError: a size below 1, or with ``from_size`` a point outside the photo.

    >>> ab_map, mask = hint_maps([Hint(1, 1, (20, -30))], height=3, width=4)
    >>> ab_map.shape, mask.shape, ab_map.dtype
    (torch.Size([2, 3, 4]), torch.Size([1, 3, 4]), torch.float32)
    >>> ab_map[:, 1, 1].tolist(), int(mask.sum())
    ([20.0, -30.0], 1)
    >>> _, mask = hint_maps([Hint(256, 384, (0, 0), patch_size=9)], height=224, width=224, from_size=(512, 768))
    >>> rows, columns = mask[0].nonzero().T  # 9 x 9 photo pixels -> 4 x 3 map pixels
    >>> sorted(set(rows.tolist())), sorted(set(columns.tolist()))
    ([111, 112, 113, 114], [111, 112, 113])
    """
    height, width = _check_size(height, "hint_maps: height"), _check_size(width, "hint_maps: width")
    ab_map = torch.zeros(2, height, width, dtype=torch.float32)
    mask = torch.zeros(1, height, width, dtype=torch.float32)
    for hint in hints:
        if from_size is None:
            rows, columns = patch_bounds(hint, height=height, width=width)
        else:
            rows, columns = _rescaled(hint, from_size, height, width)
        ab_map[:, rows, columns] = torch.tensor(hint.ab, dtype=torch.float32).view(2, 1, 1)
        mask[:, rows, columns] = 1.0
    return ab_map, mask


# --------------------------------------------------------------------------------------
# Simulated hints (Zhang et al. 2017, section 3.3 and their released training code).
# --------------------------------------------------------------------------------------


def _as_ab_array(ab: torch.Tensor | np.ndarray, what: str) -> np.ndarray:
    array = ab.detach().cpu().numpy() if isinstance(ab, torch.Tensor) else np.asarray(ab)
    if array.ndim != 3 or array.shape[0] != 2 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{what}: expected float ab shaped (2, H, W), got {array.dtype} {tuple(array.shape)}")
    return array


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_hints(
    ab: torch.Tensor | np.ndarray,
    *,
    seed: int | np.random.Generator,
    count: int | None = None,
    p: float = GEOMETRIC_P,
    patch_sizes: Sequence[int] = PATCH_SIZES,
) -> list[Hint]:
    """Hints drawn from a photo's true colours, as Zhang et al. 2017 drew them.

    - **How many:** ``count``, or geometric with success probability ``p``: ``k`` hints
      with probability ``p (1 - p)^k`` for ``k = 0, 1, 2, ...`` (for ``p = 1/8`` the mean
      is 7 and no hint at all happens 1 time in 8, so a network also learns to colorize
      without any hint).
    - **Where:** spread over the photo but more often near its middle, as users click:
      the top-left corner of each patch is drawn from a normal distribution centred so
      that the patch is centred on the photo, with a standard deviation of a quarter of
      the free range (``(H - p + 1) / 4`` rows, the same for columns), rounded down and
      clipped so that the whole patch lies in the photo. Zhang et al. 2017 chose this
      Gaussian in their paper and code; a uniform draw would put as many hints at the
      borders as in the middle.
    - **How big:** a side drawn uniformly from ``patch_sizes`` (1 to 9 pixels).
    - **Which colour:** the mean true ab of the patch.

    Args:
        ab: the photo's true ab, float ``(2, H, W)`` in Lab units (tensor or array).
        seed: an int (the same int gives the same hints on every run and machine) or a
            numpy ``Generator`` (drawn from, so that successive calls differ).
        count: a fixed number of hints instead of the geometric draw.
        p: the geometric distribution's success probability, in (0, 1].
        patch_sizes: the patch sides to draw from, each at most ``min(H, W)``.

    Returns:
        The hints, in pixels of ``ab``; each lies wholly inside the photo.

    >>> ab = torch.zeros(2, 32, 48); ab[0] = 10.0; ab[1, :, 24:] = -40.0
    >>> hints = simulate_hints(ab, seed=0, count=3)
    >>> len(hints), hints == simulate_hints(ab, seed=0, count=3)
    (3, True)
    >>> all(h.ab[0] == 10.0 and -40.0 <= h.ab[1] <= 0.0 for h in hints)
    True
    """
    array = _as_ab_array(ab, "simulate_hints")
    height, width = array.shape[1:]
    sizes = [_check_size(s, "simulate_hints: patch_sizes") for s in patch_sizes]
    if not sizes or max(sizes) > min(height, width):
        raise ValueError(f"simulate_hints: patch_sizes {list(patch_sizes)} must be non-empty and fit a {height}x{width} photo")
    if not 0 < p <= 1:
        raise ValueError(f"simulate_hints: p must be in (0, 1], got {p}")
    rng = _rng(seed)
    n = int(rng.geometric(p)) - 1 if count is None else _whole_number(count)
    if n is None or n < 0:
        raise ValueError(f"simulate_hints: count must be a whole number >= 0, got {count!r}")
    hints = []
    for _ in range(n):
        size = int(rng.choice(sizes))
        top = _normal_start(rng, height - size + 1)
        left = _normal_start(rng, width - size + 1)
        patch = array[:, top:top + size, left:left + size]
        a, b = (float(np.clip(v, *AB_RANGE)) for v in patch.reshape(2, -1).mean(axis=1, dtype=np.float64))
        hints.append(Hint(top + (size - 1) // 2, left + (size - 1) // 2, (a, b), patch_size=size))
    return hints


def _normal_start(rng: np.random.Generator, free: int) -> int:
    """A patch start in ``0..free - 1``: normal around the middle, sd ``free / 4``, clipped."""
    return int(np.clip(np.floor(rng.normal(free / 2, free / 4)), 0, free - 1))


def simulated_hint_maps(
    ab: torch.Tensor, *, seed: int | np.random.Generator, **options: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Simulated hints for a batch, as the maps a network takes (for training and testing).

    Args:
        ab: true ab of a batch, float ``(N, 2, H, W)`` in Lab units.
        seed: an int or a numpy ``Generator``, as in :func:`simulate_hints`; one
            generator draws the hints of every photo in turn.
        options: passed on to :func:`simulate_hints` (``count``, ``p``, ``patch_sizes``).

    Returns:
        ``(ab_maps, masks)``: float32 ``(N, 2, H, W)`` and ``(N, 1, H, W)`` on ``ab``'s
        device (see :func:`hint_maps`).

    >>> ab_maps, masks = simulated_hint_maps(torch.full((2, 2, 16, 16), 5.0), seed=1, count=2)
    >>> ab_maps.shape, masks.shape, bool((ab_maps[masks.expand_as(ab_maps) > 0] == 5.0).all())
    (torch.Size([2, 2, 16, 16]), torch.Size([2, 1, 16, 16]), True)
    """
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"simulated_hint_maps: expected ab shaped (N, 2, H, W), got {tuple(ab.shape)}")
    rng = _rng(seed)
    height, width = ab.shape[-2:]
    maps = [hint_maps(simulate_hints(one, seed=rng, **options), height=height, width=width) for one in ab]
    return (torch.stack([m[0] for m in maps]).to(ab.device), torch.stack([m[1] for m in maps]).to(ab.device))


# --------------------------------------------------------------------------------------
# Hints written by a user: the JSON format.
# --------------------------------------------------------------------------------------

_KEYS = ("row", "column", "color", "ab", "patch")
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _hex_to_ab(text: str) -> tuple[float, float]:
    rgb = np.array([[[int(text[i:i + 2], 16) / 255 for i in (1, 3, 5)]]], dtype=np.float64)
    lab = rgb_to_lab(rgb)[0, 0]
    return float(lab[1]), float(lab[2])


def _entry_ab(entry: Mapping[str, Any], where: str) -> tuple[float, float]:
    if ("color" in entry) == ("ab" in entry):
        raise ValueError(f'{where}: give exactly one of "color" ("#rrggbb") and "ab" ([a, b])')
    if "color" in entry:
        text = entry["color"]
        if not isinstance(text, str) or not _HEX_COLOR.fullmatch(text.strip()):
            raise ValueError(f'{where}: "color" must be a colour written "#rrggbb" (such as "#ff0000"), got {text!r}')
        return _hex_to_ab(text.strip())
    value, low, high = entry["ab"], *AB_RANGE
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) and low <= v <= high for v in value)):
        raise ValueError(f'{where}: "ab" must be two numbers [a, b], each in {low:g}..{high:g}, got {value!r}')
    return float(value[0]), float(value[1])


def _entry_to_hint(entry: Any, where: str, photo_height: int, photo_width: int) -> Hint:
    if not isinstance(entry, Mapping):
        raise ValueError(f'{where}: expected an object such as {{"row": 10, "column": 20, "color": "#ff0000"}}, '
                         f"got {entry!r}")
    unknown = [key for key in entry if key not in _KEYS]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (the keys are {', '.join(_KEYS)})")
    point = []
    for key, side, axis in (("row", photo_height, "rows"), ("column", photo_width, "columns")):
        if key not in entry:
            raise ValueError(f'{where}: missing "{key}"')
        value = _whole_number(entry[key])
        if value is None or not 0 <= value < side:
            raise ValueError(f'{where}: "{key}" {entry[key]!r} is outside the photo '
                             f"(a whole number in 0..{side - 1}: the photo has {side} {axis})")
        point.append(value)
    patch = _whole_number(entry.get("patch", 1))
    if patch is None or patch < 1:
        raise ValueError(f'{where}: "patch" must be a whole number of pixels >= 1, got {entry["patch"]!r}')
    return Hint(point[0], point[1], _entry_ab(entry, where), patch_size=patch)


def _load_json(source: HintSource) -> tuple[Any, str]:
    if isinstance(source, Mapping):
        return source, "hints"
    path = Path(source)
    try:
        return json.loads(path.read_text(encoding="utf-8")), path.name
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name}: not valid JSON (line {error.lineno}, column {error.colno}: "
                         f"{error.msg})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: not a UTF-8 text file of JSON") from None


def read_hints(source: HintSource, *, photo_height: int, photo_width: int) -> list[Hint]:
    """Read and check the hints a user wrote for a photo (the file ``colorlib colorize --hints`` takes).

    The format, a JSON object with a list ``"hints"``, one object per hint:

    - ``"row"``, ``"column"``: the point in pixels of the photo (0-based, row 0 at
      the top), inside the photo; required;
    - the colour, exactly one of ``"color"``: ``"#rrggbb"`` (sRGB, converted to Lab with
      :func:`colorlib.color.rgb_to_lab`; its lightness is dropped, the photo keeps its
      own) or ``"ab"``: ``[a, b]`` in Lab units, each in -128..127;
    - ``"patch"``: the side of the square the colour covers, in pixels (default 1).

    No other key is allowed (a misspelt key would otherwise be silently ignored).

    Args:
        source: a path to the JSON file, or the JSON already read (a dict).
        photo_height, photo_width: the photo's size in pixels.

    Returns:
        The hints in the file's order, in pixels of the photo (see :func:`hint_maps`
        with ``from_size`` for the network's size).

    Raises:
        ValueError: bad JSON (with its line and column), no ``"hints"`` list, or a bad
            entry: the message names the entry by its index (from 0) and says what was
            expected. ``OSError`` when the file cannot be read.

    >>> hints = read_hints({"hints": [{"row": 10, "column": 20, "color": "#ff0000", "patch": 3},
    ...                               {"row": 0, "column": 5, "ab": [20, -30]}]}, photo_height=64, photo_width=48)
    >>> [(h.row, h.column, round(h.ab[0], 1), round(h.ab[1], 1), h.patch_size) for h in hints]
    [(10, 20, 80.1, 67.2, 3), (0, 5, 20.0, -30.0, 1)]
    >>> read_hints({"hints": [{"row": 64, "column": 0, "ab": [0, 0]}]}, photo_height=64, photo_width=48)
    Traceback (most recent call last):
    ...
    ValueError: hints, entry 0: "row" 64 is outside the photo (a whole number in 0..63: the photo has 64 rows)
    """
    photo_height = _check_size(photo_height, "read_hints: photo_height")
    photo_width = _check_size(photo_width, "read_hints: photo_width")
    document, name = _load_json(source)
    if not isinstance(document, Mapping) or not isinstance(document.get("hints"), list):
        raise ValueError(f'{name}: expected an object with a list "hints", such as '
                         '{"hints": [{"row": 10, "column": 20, "color": "#ff0000"}]}')
    return [_entry_to_hint(entry, f"{name}, entry {index}", photo_height, photo_width)
            for index, entry in enumerate(document["hints"])]
