"""Zhang et al.'s quantized ab plane: bins, soft encoding, class rebalancing, the annealed mean.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterable

import torch

from .color import out_of_gamut

__all__ = [
    "AB_BIN_STEP",
    "ANNEALED_MEAN_TEMPERATURE",
    "SOFT_ENCODING_NEIGHBOURS",
    "SOFT_ENCODING_SIGMA",
    "REBALANCING_LAMBDA",
    "ab_bins",
    "displayable_bins_at",
    "nearest_bins",
    "soft_encode",
    "bin_prior",
    "smooth_prior",
    "rebalancing_weights",
    "annealed_mean",
    "nearest_bins_on_grid",
    "on_grid",
]


#: Zhang et al.'s grid: bin centres at multiples of 10 ab units.
AB_BIN_STEP = 10.0


#: The temperature of Zhang et al.'s annealed mean.
ANNEALED_MEAN_TEMPERATURE = 0.38


#: Soft encoding: how many nearest bins share a pixel's weight ...
SOFT_ENCODING_NEIGHBOURS = 5


#: ... and the width of the Gaussian that weights them, in ab units.
SOFT_ENCODING_SIGMA = 5.0


#: Class rebalancing: how much of the uniform distribution is mixed into the prior.
REBALANCING_LAMBDA = 0.5


_AB_LIMIT = 128.0


_MAX_SRGB_CHROMA = 135.0


_GAMUT_LIGHTNESS_LEVELS = 101


#: Pixels per block of the grid lookup (each measured against 25 candidate bins).
_PIXELS_PER_CHUNK = 16384
#: Pixels per block of the brute force (each measured against every bin): 2,048 x 262
#: distances (2 MB) stay in the CPU's cache, twice as fast as 16,384; rows are independent,
#: so the block size changes no result.
_PIXELS_PER_BRUTE_FORCE_CHUNK = 2048


def _candidate_centres(step: float) -> torch.Tensor:
    """Grid centres ``(k * step, m * step)`` whose cell may hold an sRGB colour: (C, 2) float64.

    Cells entirely farther than the largest sRGB chroma (134, pure blue) from gray are
    left out; the rest cover the square ``|a|, |b| <= 128`` in a-major order.
    """
    count = math.ceil(_AB_LIMIT / step)
    axis = torch.arange(-count, count + 1, dtype=torch.float64) * step
    a, b = torch.meshgrid(axis, axis, indexing="ij")  # a-major order, as Zhang et al.'s list
    centres = torch.stack((a.reshape(-1), b.reshape(-1)), dim=1)
    nearest_chroma = (centres.abs() - step / 2).clamp(min=0).norm(dim=1)
    return centres[nearest_chroma <= _MAX_SRGB_CHROMA]


def _cells_with_displayable_color(centres: torch.Tensor, step: float, lightness: torch.Tensor) -> torch.Tensor:
    """Which square cells (side ``step`` around ``centres``) hold an sRGB colour at one of ``lightness``.

    Each cell is sampled on a grid at most 2 ab units apart, its centre and edges
    included. For steps 10 and 20 that keeps exactly the bins of a 4 times finer
    sampling (in ab and in L); for step 5 it misses 6 rim cells that hold only a sliver
    of the gamut (963 bins instead of 969).
    """
    samples_per_side = 2 * math.ceil(step / 4) + 1  # odd: the centre is a sample
    offsets = torch.linspace(-step / 2, step / 2, samples_per_side, dtype=torch.float64)
    offset_a, offset_b = torch.meshgrid(offsets, offsets, indexing="ij")
    a = centres[:, :1] + offset_a.reshape(1, -1)  # (cells, samples)
    b = centres[:, 1:] + offset_b.reshape(1, -1)
    found = torch.zeros(len(centres), dtype=torch.bool)
    for levels in lightness.split(10):
        # (levels, 3, cells, samples): one Lab "image" per lightness level.
        lab = torch.stack(torch.broadcast_tensors(levels.view(-1, 1, 1), a[None], b[None]), dim=1)
        found |= (~out_of_gamut(lab)).any(dim=2).any(dim=0)
    return found


@functools.lru_cache(maxsize=8)
def _ab_bins_float64(step: float) -> torch.Tensor:
    centres = _candidate_centres(step)
    lightness = torch.linspace(0.0, 100.0, _GAMUT_LIGHTNESS_LEVELS, dtype=torch.float64)
    return centres[_cells_with_displayable_color(centres, step, lightness)]


def ab_bins(step: float = AB_BIN_STEP) -> torch.Tensor:
    """The quantised ab colours: centres of the grid squares that hold a displayable colour.

    The ab plane is cut into squares of side ``step`` centred on multiples of ``step``.
    A square is kept when some colour inside it (sampled at most 2 ab units apart, edges
    included) is in the sRGB gamut at some lightness ``L`` (0, 1, ..., 100), as
    :func:`colorlib.color.out_of_gamut` decides. With ``step=10`` that keeps **262**
    squares, a in -90..100 and b in -110..90. Zhang et al. keep 313: their list holds
    all 262 of these plus 51 squares on the rim that hold no sRGB colour (their exact
    rule is unpublished; their list is close to the squares whose centre lies within
    14 ab units of an sRGB colour). Every 8-bit sRGB colour's ab lies in one of the 262 squares.

    Computed once per step (about 0.2 s on one idle core) and cached; the result is a fresh copy.

    Args:
        step: grid step in ab units, 2..64 (Zhang et al.: 10).

    Returns:
        float32 ``(Q, 2)`` of ``(a, b)`` centres in ab units, ordered by a, then b.

    >>> bins = ab_bins()
    >>> bins.shape
    torch.Size([262, 2])
    >>> bins[:2].tolist()
    [[-90.0, 80.0], [-80.0, 40.0]]
    """
    return _ab_bins_float64(_check_step(step)).to(torch.float32)


def displayable_bins_at(lightness: float, *, step: float = AB_BIN_STEP) -> torch.Tensor:
    """Which of :func:`ab_bins` hold a displayable sRGB colour at one lightness, to draw them.

    At ``L = 50`` most bins are displayable; at the extremes only a few near gray are
    (``L = 0`` is black and ``L = 100`` white, so only the bin of ``ab = (0, 0)``). The
    union over all ``L`` is :func:`ab_bins` itself.

    Args:
        lightness: ``L`` in 0..100.
        step: grid step in ab units, as for :func:`ab_bins`.

    Returns:
        bool ``(Q,)``, aligned with ``ab_bins(step)``.
    """
    level = _positive_number(lightness, "displayable_bins_at: lightness", allow_zero=True)
    if level > 100:
        raise ValueError(f"displayable_bins_at: expected a lightness L in 0..100, got {level!r}")
    step = _check_step(step)
    centres = _ab_bins_float64(step)
    return _cells_with_displayable_color(centres, step, torch.tensor([level], dtype=torch.float64))


def nearest_bins(ab: torch.Tensor, bins: torch.Tensor, *, neighbours: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``neighbours`` nearest bin centres of every pixel, nearest first.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: float ``(Q, 2)`` centres.
        neighbours: how many, 1..Q.

    Returns:
        ``(indices, squared_distances)``: int64 and float32 ``(N, neighbours, H, W)``;
        ``indices[:, 0]`` is the nearest bin.
    """
    ab = _check_ab_batch(ab, "nearest_bins")
    bins = _check_bins(bins, "nearest_bins")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours <= len(bins):
        raise ValueError(f"nearest_bins: expected a number of neighbours in 1..{len(bins)}, got {neighbours!r}")
    batch, _, height, width = ab.shape
    pixels = ab.detach().float().permute(0, 2, 3, 1).reshape(-1, 2)
    centres = bins.detach().to(device=ab.device, dtype=torch.float32)
    indices, distances = [], []
    for chunk in pixels.split(_PIXELS_PER_BRUTE_FORCE_CHUNK):
        squared = _squared_distances(chunk[:, None, :], centres[None, :, :])
        values, index = torch.topk(squared, neighbours, dim=1, largest=False, sorted=True)
        indices.append(index)
        distances.append(values)
    return _as_maps(indices, batch, height, width, neighbours), _as_maps(distances, batch, height, width, neighbours)


def _squared_distances(pixels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``|pixel - centre|^2`` over the last axis (a, b) of two broadcastable float32 tensors.

    Exact differences (not cdist's matrix product), so a pixel on a centre is at 0. Written
    as ``da * da + db * db`` rather than ``((p - c) ** 2).sum(-1)``: the same float32 result
    bit for bit (each square and the one addition are rounded the same way), about four
    times faster on the CPU, where the sum over a last axis of two is slow.
    """
    difference_a = pixels[..., 0] - centres[..., 0]
    difference_b = pixels[..., 1] - centres[..., 1]
    return difference_a * difference_a + difference_b * difference_b


def _as_maps(rows: list[torch.Tensor], batch: int, height: int, width: int, neighbours: int) -> torch.Tensor:
    """Per-pixel rows ``(N * H * W, neighbours)`` back to maps ``(N, neighbours, H, W)``."""
    return torch.cat(rows).reshape(batch, height, width, neighbours).permute(0, 3, 1, 2).contiguous()


def _smallest(squared: torch.Tensor, candidates: torch.Tensor, neighbours: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``neighbours`` smallest of each row of ``squared`` (P, C), nearest first: ``(bin
    indices, values)``, both (P, neighbours); ``candidates`` (P, C) holds each column's bin index.

    Equal distances are ordered by bin index, lowest first, so that the answer does not
    depend on the order of the candidates in the window. Rows with no tie among their
    ``neighbours + 1`` smallest keep ``topk``'s answer; the others are sorted by (distance, index).
    """
    wanted = min(neighbours + 1, squared.shape[1])
    values, order = torch.topk(squared, wanted, dim=1, largest=False, sorted=True)
    tied = (values[:, 1:] == values[:, :-1]).any(dim=1)
    if bool(tied.any()):
        rows, row_candidates = squared[tied], candidates[tied]
        by_index = torch.argsort(row_candidates, dim=1, stable=True)
        by_distance = torch.argsort(rows.gather(1, by_index), dim=1, stable=True)
        columns = by_index.gather(1, by_distance)[:, :wanted]
        order[tied], values[tied] = columns, rows.gather(1, columns)
    return candidates.gather(1, order[:, :neighbours]), values[:, :neighbours].contiguous()


def _soft_weights(squared_distances: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian weights ``exp(-d^2 / (2 sigma^2))`` over the neighbour axis (1), normalised to sum 1."""
    # Subtracting the nearest distance changes nothing after normalising but keeps far
    # pixels (ab outside the gamut) from underflowing to 0 / 0.
    relative = squared_distances - squared_distances[:, :1]
    weights = torch.exp(-relative / (2.0 * sigma * sigma))
    return weights / weights.sum(dim=1, keepdim=True)


def _soft_encoding_sparse(
    ab: torch.Tensor, bins: torch.Tensor, neighbours: int, sigma: float, *, grid_lookup: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(indices, weights)`` ``(N, neighbours, H, W)``: the non-zero part of :func:`soft_encode`.

    With ``grid_lookup``, bins on the grid of :data:`AB_BIN_STEP` (as :func:`ab_bins`) are
    looked up in a window of grid cells (:func:`nearest_bins_on_grid`, several times
    faster); otherwise, and for bins off the grid, every bin is measured
    (:func:`nearest_bins`). The distances, and so the weights, are the same either way; only
    where the ``neighbours``-th and the next bin are exactly as near (ab on a symmetry line
    of the grid, gray pixels among them) may the two keep different bins of the tie. That
    is enough to move a training run, so the default stays the brute force that every
    committed run was trained with.
    """
    if grid_lookup and neighbours <= _WINDOW_NEIGHBOURS and on_grid(bins):
        index, squared = nearest_bins_on_grid(ab, bins, neighbours=neighbours)
    else:
        index, squared = nearest_bins(ab, bins, neighbours=neighbours)
    return index, _soft_weights(squared, sigma)


def soft_encode(
    ab: torch.Tensor,
    bins: torch.Tensor,
    *,
    neighbours: int = SOFT_ENCODING_NEIGHBOURS,
    sigma: float = SOFT_ENCODING_SIGMA,
) -> torch.Tensor:
    """Zhang et al.'s soft encoding: each pixel's ab as a distribution over the bins.

    The ``neighbours`` nearest bin centres get weights ``exp(-d^2 / (2 sigma^2))`` (``d``
    the distance from the pixel's ab to the centre), normalised to sum 1; all other
    bins get 0. A pixel exactly on a centre of the 10-grid, with sigma 5, puts
    ``1 / (1 + 4 e^-2) = 0.649`` on that bin and ``e^-2 / (1 + 4 e^-2) = 0.088`` on each
    of its 4 neighbours at distance 10.

    Memory: the result has ``N * Q * H * W`` floats (64 MB for 16 maps of 64 x 64 with
    Q = 262); distances are measured in chunks of pixels.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: ``(Q, 2)`` centres (:func:`ab_bins`).
        neighbours: how many nearest bins share the weight (Zhang et al.: 5).
        sigma: Gaussian width in ab units (Zhang et al.: 5).

    Returns:
        float32 ``(N, Q, H, W)``, values in 0..1, summing to 1 over the bin axis.

    >>> bins = ab_bins()
    >>> target = soft_encode(torch.zeros(1, 2, 1, 1), bins)
    >>> round(float(target.max()), 3), round(float(target.sum()), 3)
    (0.649, 1.0)
    """
    sigma = _positive_number(sigma, "soft_encode: sigma")
    index, weights = _soft_encoding_sparse(ab, bins, neighbours, sigma)
    batch, _, height, width = ab.shape
    target = torch.zeros(batch, len(bins), height, width, dtype=torch.float32, device=ab.device)
    return target.scatter_(1, index, weights)


def bin_prior(ab_batches: Iterable[torch.Tensor], bins: torch.Tensor) -> torch.Tensor:
    """The empirical distribution ``p`` of true ab over the bins (each pixel to its nearest bin).

    Training photos repeat their colours (stored crops hold ab in float16), so the nearest bin
    is measured once per distinct (a, b) value and counted as often as the value occurs: the
    same bins as :func:`nearest_bins` pixel by pixel, and the same counts, exactly.

    Args:
        ab_batches: an iterable of float tensors ``(N, 2, H, W)`` (or one image
            ``(2, H, W)``) in ab units, e.g. the training set's true ab, batch by batch.
        bins: ``(Q, 2)`` centres (:func:`ab_bins`).

    Returns:
        float64 ``(Q,)``, summing to 1: the fraction of pixels nearest to each bin.

    Raises:
        ValueError: a batch of the wrong shape, or no pixels at all.

    >>> ab = torch.tensor([[[[0.0, 0.0, 31.0]], [[0.0, 0.0, -2.0]]]])  # (1, 2, 1, 3): gray twice, one orange
    >>> prior = bin_prior([ab], ab_bins())
    >>> round(float(prior.max()), 3), int((prior > 0).sum())
    (0.667, 2)
    """
    bins = _check_bins(bins, "bin_prior")
    counts = torch.zeros(len(bins), dtype=torch.float64)
    pending: list[torch.Tensor] = []  # distinct (a, b) values of recent batches, as int64 codes, and their counts
    pending_counts: list[torch.Tensor] = []
    pending_pixels = 0

    def count_pending() -> None:
        codes, where = torch.unique(torch.cat(pending), return_inverse=True)
        occurrences = torch.zeros(len(codes), dtype=torch.float64).index_add_(0, where, torch.cat(pending_counts))
        pending.clear()
        pending_counts.clear()
        if len(codes):
            values = codes.view(torch.float32).reshape(-1, 2)  # (U, 2): each distinct (a, b) once
            index, _ = nearest_bins(values.T.reshape(1, 2, -1, 1), bins)
            counts.add_(torch.bincount(index.reshape(-1), weights=occurrences, minlength=len(bins)))

    for batch in ab_batches:
        if isinstance(batch, torch.Tensor) and batch.ndim == 3:
            batch = batch.unsqueeze(0)
        batch = _check_ab_batch(batch, "bin_prior")
        # The pair (a, b) of float32s read as one int64: equal codes are equal values.
        pixels = batch.detach().float().cpu().permute(0, 2, 3, 1).reshape(-1, 2).contiguous()
        codes, occurrences = torch.unique(pixels.view(torch.int64).reshape(-1), return_counts=True)
        pending.append(codes)
        pending_counts.append(occurrences.to(torch.float64))
        pending_pixels += len(pixels)
        if pending_pixels >= _PRIOR_PIXELS_PER_PASS:
            count_pending()
            pending_pixels = 0
    if pending:
        count_pending()
    total = float(counts.sum())
    if total == 0:
        raise ValueError("bin_prior: the batches held no pixels")
    return counts / total


#: :func:`bin_prior` gathers the distinct values of this many pixels before it measures them
#: (about 8 million: 64 MB of codes; the fewer passes, the fewer values measured twice).
_PRIOR_PIXELS_PER_PASS = 1 << 23


def smooth_prior(prior: torch.Tensor, bins: torch.Tensor, *, sigma: float = SOFT_ENCODING_SIGMA) -> torch.Tensor:
    """``prior`` blurred by a Gaussian of width ``sigma`` on the ab plane, renormalised to sum 1.

    The blur runs over the bins only: bin ``q`` receives ``sum_k p_k exp(-|c_q - c_k|^2
    / (2 sigma^2))``, then the whole is divided by its sum (mass that a full-grid blur
    would spill outside the kept bins is dropped).

    Args:
        prior: ``(Q,)`` non-negative (:func:`bin_prior`).
        bins: the ``(Q, 2)`` centres ``prior`` refers to.
        sigma: in ab units (Zhang et al.: 5).

    Returns:
        float64 ``(Q,)``, summing to 1.
    """
    bins = _check_bins(bins, "smooth_prior")
    prior = _check_distribution(prior, bins, "smooth_prior: prior")
    sigma = _positive_number(sigma, "smooth_prior: sigma")
    centres = bins.detach().to(torch.float64).cpu()
    squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(dim=-1)
    smoothed = torch.exp(-squared / (2.0 * sigma * sigma)) @ prior.cpu()
    return smoothed / smoothed.sum()


def rebalancing_weights(
    prior: torch.Tensor,
    *,
    lam: float = REBALANCING_LAMBDA,
    sigma: float = SOFT_ENCODING_SIGMA,
    bins: torch.Tensor | None = None,
) -> torch.Tensor:
    """Zhang et al.'s class-rebalancing weights: rare colours count more.

    With ``p`` the prior smoothed by :func:`smooth_prior`::

        w = ((1 - lam) * p + lam / Q) ** -1,   scaled so that  sum(p * w) = 1

    so a pixel's expected weight is 1. ``lam = 1`` gives all weights 1 (no rebalancing);
    ``lam = 0`` weights each bin by ``1 / p`` (every colour counts equally in total).

    Args:
        prior: ``(Q,)`` (:func:`bin_prior`), need not sum to 1.
        lam: mixing weight of the uniform distribution, 0..1 (Zhang et al.: 0.5).
        sigma: smoothing width in ab units (Zhang et al.: 5).
        bins: the ``(Q, 2)`` centres ``prior`` refers to (default :func:`ab_bins`).

    Returns:
        float32 ``(Q,)``, all > 0.

    Raises:
        ValueError: ``lam`` outside 0..1; ``lam = 0`` with a bin of smoothed probability 0;
            ``prior`` not matching ``bins``.
    """
    bins = ab_bins() if bins is None else bins
    lam = _positive_number(lam, "rebalancing_weights: lam", allow_zero=True)
    if lam > 1:
        raise ValueError(f"rebalancing_weights: expected lam in 0..1, got {lam!r}")
    smoothed = smooth_prior(prior, bins, sigma=sigma)
    mixture = (1.0 - lam) * smoothed + lam / len(smoothed)
    if (mixture <= 0).any():
        raise ValueError("rebalancing_weights: with lam = 0 every bin needs a smoothed probability > 0")
    weights = 1.0 / mixture
    weights = weights / (smoothed * weights).sum()
    return weights.to(torch.float32)


def annealed_mean(
    logits: torch.Tensor, bins: torch.Tensor, *, temperature: float = ANNEALED_MEAN_TEMPERATURE
) -> torch.Tensor:
    """The colour of a predicted distribution over bins: the mean of it sharpened by ``temperature``.

    Zhang et al. re-normalise ``exp(log(softmax(z)) / T)``, which is ``softmax(z / T)``,
    and take the expectation of the bin centres under it. ``T = 1`` is the plain mean
    (desaturated when the distribution has several modes), ``T -> 0`` the mode (vivid
    but patchy); 0.38 is their compromise.

    Args:
        logits: ``(N, Q, H, W)`` raw scores.
        bins: ``(Q, 2)`` centres in ab units.
        temperature: ``T > 0``.

    Returns:
        ``(N, 2, H, W)`` ab in ab units, float32 (or the logits' dtype if wider).

    Raises:
        ValueError: shapes that do not fit, ``T <= 0`` or not finite.
    """
    temperature = _check_temperature(temperature, "annealed_mean")
    bins = _check_bins(bins, "annealed_mean")
    if not isinstance(logits, torch.Tensor) or logits.ndim != 4 or logits.shape[1] != len(bins):
        raise ValueError(
            f"annealed_mean: expected logits (N, {len(bins)}, H, W), one per bin, got {_shape_of(logits)}"
        )
    logits = logits if logits.dtype == torch.float64 else logits.float()
    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probabilities, bins.to(device=logits.device, dtype=logits.dtype))


_WINDOW_RADIUS = 2


_WINDOW_NEIGHBOURS = 12


def _grid_lookup(bins: torch.Tensor, step: float) -> tuple[torch.Tensor, int]:
    """``(table, offset)``: ``table[i + offset, j + offset]`` is the index of the bin at
    ``(i * step, j * step)``, or -1; raises when the centres are not on multiples of ``step``."""
    cells = bins.detach().double().cpu() / step
    rounded = cells.round()
    if not torch.allclose(cells, rounded, rtol=0.0, atol=1e-6):
        raise ValueError(f"nearest_bins_on_grid: expected bin centres on multiples of {step:g} ab units")
    cells = rounded.long()
    offset = int(cells.abs().max()) + _WINDOW_RADIUS + 1
    table = torch.full((2 * offset + 1, 2 * offset + 1), -1, dtype=torch.long)
    table[cells[:, 0] + offset, cells[:, 1] + offset] = torch.arange(len(bins))
    return table, offset


def nearest_bins_on_grid(
    ab: torch.Tensor, bins: torch.Tensor, *, neighbours: int = 1, step: float = AB_BIN_STEP
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`nearest_bins` for bins centred on a grid of ``step``: the same bins, several times faster.

    Instead of measuring every pixel's distance to all Q centres, it measures the 25
    cells of the 5 x 5 window around the pixel's own cell. Any bin outside the window is
    at least ``2.5 * step`` away, so when the ``neighbours``-th nearest found inside is
    closer, the answer is exact; the other pixels (ab far outside the bins, or at the
    rim where the window holds too few bins) are measured against all the bins, as
    :func:`nearest_bins` does. The distances are the same as :func:`nearest_bins`'; equal
    distances are ordered by bin index, where :func:`nearest_bins` keeps ``torch.topk``'s
    order, so a tie between the last bin kept and the next may be broken differently.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: float ``(Q, 2)`` centres on multiples of ``step`` (:func:`ab_bins`).
        neighbours: how many, 1..Q.
        step: the grid step of the centres, ab units.

    Returns:
        ``(indices, squared_distances)``: int64 and float32 ``(N, neighbours, H, W)``,
        nearest first.

    Raises:
        ValueError: as :func:`nearest_bins`; centres not on the grid.
    """
    ab = _check_ab_batch(ab, "nearest_bins_on_grid")
    bins = _check_bins(bins, "nearest_bins_on_grid")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours <= len(bins):
        raise ValueError(
            f"nearest_bins_on_grid: expected a number of neighbours in 1..{len(bins)}, got {neighbours!r}"
        )
    step = _check_step(step)
    table, offset = _grid_lookup(bins, step)
    if neighbours > _WINDOW_NEIGHBOURS:
        return nearest_bins(ab, bins, neighbours=neighbours)
    index, squared = _window_search(ab, bins, table, offset, neighbours, step)
    return index, squared


def _window_search(
    ab: torch.Tensor, bins: torch.Tensor, table: torch.Tensor, offset: int, neighbours: int, step: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The body of :func:`nearest_bins_on_grid`, its arguments checked."""
    device = ab.device
    table = table.to(device)
    centres = bins.detach().to(device=device, dtype=torch.float32)
    window = torch.arange(-_WINDOW_RADIUS, _WINDOW_RADIUS + 1, device=device)
    shifts = torch.stack(torch.meshgrid(window, window, indexing="ij"), dim=-1).reshape(1, -1, 2)  # (1, 25, 2)
    # Bins outside the window are at least (radius + 1/2) steps away; a margin far above
    # float32 rounding keeps a computed distance just under that bound from passing.
    reach = ((_WINDOW_RADIUS + 0.5) * step) ** 2 * (1.0 - 1e-5)
    batch, _, height, width = ab.shape
    pixels = ab.detach().float().permute(0, 2, 3, 1).reshape(-1, 2)
    indices, distances = [], []
    for chunk in pixels.split(_PIXELS_PER_CHUNK):
        # The own cell in float64: no rounding across a cell edge.
        own = torch.round(chunk.double() / step).long().clamp(-offset + _WINDOW_RADIUS, offset - _WINDOW_RADIUS)
        cells = own[:, None, :] + shifts  # (P, 25, 2), inside the table by the clamp
        candidates = table[cells[..., 0] + offset, cells[..., 1] + offset]  # (P, 25), -1: no bin
        squared = _squared_distances(chunk[:, None, :], centres[candidates.clamp(min=0)])
        squared = squared.masked_fill(candidates < 0, math.inf)
        index, values = _smallest(squared, candidates, neighbours)
        unsure = ~(values[:, -1] < reach)  # NaN, far outside the bins, or at the rim
        if bool(unsure.any()):
            exact_index, exact_squared = nearest_bins(chunk[unsure].T.reshape(1, 2, -1, 1), bins, neighbours=neighbours)
            index[unsure] = exact_index[0, :, :, 0].T
            values[unsure] = exact_squared[0, :, :, 0].T
        indices.append(index)
        distances.append(values)
    return _as_maps(indices, batch, height, width, neighbours), _as_maps(distances, batch, height, width, neighbours)


def on_grid(bins: torch.Tensor, *, step: float = AB_BIN_STEP) -> bool:
    """Whether the centres of ``bins`` (Q, 2) lie on multiples of ``step`` ab units, one per
    grid cell (so that :func:`nearest_bins_on_grid` applies): True for :func:`ab_bins` ``(step)``."""
    cells = _check_bins(bins, "on_grid").detach().double().cpu() / _check_step(step)
    if not bool(torch.isfinite(cells).all()) or not torch.allclose(cells, cells.round(), rtol=0.0, atol=1e-6):
        return False
    return len(torch.unique(cells.round(), dim=0)) == len(cells)  # one bin per cell


def _positive_number(value: object, what: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (or >= 0), else a ValueError naming ``what``."""
    expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}: expected {expected}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{what}: expected {expected}, got {number!r}")
    return number


def _check_temperature(temperature: object, what: str) -> float:
    """A temperature must be a finite number > 0 (T = 1 the mean, T -> 0 the mode)."""
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not (math.isfinite(temperature) and temperature > 0)
    ):
        raise ValueError(
            f"{what}: expected a temperature > 0 (1 = mean, towards 0 = mode), got {temperature!r}"
        )
    return float(temperature)


def _check_step(step: object) -> float:
    number = _positive_number(step, "ab bin step")
    if not 2.0 <= number <= 64.0:
        raise ValueError(f"ab bin step: expected a grid step between 2 and 64 ab units, got {number!r}")
    return number


def _shape_of(value: object) -> object:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _check_ab_batch(ab: object, what: str) -> torch.Tensor:
    """ab must be a float tensor (N, 2, H, W) (values are not scanned: no GPU sync)."""
    if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"{what}: expected ab as a tensor (N, 2, H, W) in ab units, got {_shape_of(ab)}")
    if not ab.is_floating_point():
        raise ValueError(f"{what}: expected a float tensor of ab values, got dtype {ab.dtype}")
    return ab


def _check_bins(bins: object, what: str) -> torch.Tensor:
    if not isinstance(bins, torch.Tensor) or bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] < 1:
        raise ValueError(f"{what}: expected bin centres as a tensor (Q, 2) of (a, b), got {_shape_of(bins)}")
    if not bins.is_floating_point():
        raise ValueError(f"{what}: expected float bin centres, got dtype {bins.dtype}")
    return bins


def _check_distribution(values: object, bins: torch.Tensor, what: str) -> torch.Tensor:
    """A (Q,) tensor of non-negative finite numbers matching ``bins``."""
    if not isinstance(values, torch.Tensor) or values.ndim != 1 or values.shape[0] != bins.shape[0]:
        raise ValueError(
            f"{what}: expected a tensor ({bins.shape[0]},), one value per ab bin, got {_shape_of(values)}"
        )
    values = values.to(torch.float64)
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{what}: expected finite values >= 0")
    if float(values.sum()) <= 0:
        raise ValueError(f"{what}: expected a distribution with some mass, got all zeros")
    return values
