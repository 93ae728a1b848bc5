"""colorlib.losses: ab bins, soft encoding, rebalancing, annealed mean and the loss objects."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import lab2rgb, rgb2lab

from colorlib import bins, config, losses
from colorlib.color import ab_to_target, out_of_gamut, rgb_to_lab, target_to_ab
from colorlib.lessons import beyond_mse

BINS = bins.ab_bins()


def bin_index(a: float, b: float) -> int:
    matches = ((BINS[:, 0] == a) & (BINS[:, 1] == b)).nonzero()
    assert len(matches) == 1, f"no bin at ({a}, {b})"
    return int(matches[0, 0])


def random_ab(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """ab of random sRGB colours, (N, 2, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    rgb = torch.randint(0, 256, (shape[0], 3, *shape[1:]), generator=generator, dtype=torch.uint8)
    return rgb_to_lab(rgb.float() / 255.0)[:, 1:]


# --------------------------------------------------------------------------------------
# Bins.
# --------------------------------------------------------------------------------------


def test_ab_bins_count_grid_and_determinism():
    assert BINS.shape == (262, 2) and BINS.dtype == torch.float32
    assert torch.equal(BINS, torch.round(BINS / 10) * 10)  # centres on multiples of 10
    assert len({tuple(p) for p in BINS.tolist()}) == 262
    assert BINS[:, 0].min() == -90 and BINS[:, 0].max() == 100
    assert BINS[:, 1].min() == -110 and BINS[:, 1].max() == 90
    again = bins.ab_bins(10)
    assert torch.equal(again, BINS)
    again[0] = 1000.0  # a copy: the cache is not corrupted
    assert torch.equal(bins.ab_bins(), BINS)
    assert len(bins.ab_bins(20.0)) == 77


def test_every_srgb_color_falls_in_a_kept_bin():
    # scikit-image's conversion of a 64^3 grid of the RGB cube (corners included).
    levels = np.linspace(0.0, 1.0, 64)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    ab = rgb2lab(cube)[0, :, 1:]
    cells = {tuple(c) for c in (np.floor(ab / 10 + 0.5) * 10).astype(int).tolist()}
    kept = {tuple(int(v) for v in p) for p in BINS.tolist()}
    assert cells <= kept
    assert len(cells) >= 250


def test_every_kept_bin_holds_a_displayable_color():
    # In each bin's cell, find a colour strictly inside the gamut (no tolerance) and let
    # scikit-image confirm it: Lab -> RGB -> Lab comes back unchanged, so nothing was clipped.
    offsets = np.linspace(-5.0, 5.0, 11)
    offset_a, offset_b, lightness = np.meshgrid(offsets, offsets, np.arange(0.0, 101.0), indexing="ij")
    samples = np.stack((lightness, offset_a, offset_b), axis=-1).reshape(-1, 3)  # (S, 3)
    lab = np.repeat(samples[None], len(BINS), axis=0)  # one row of samples per bin
    lab[..., 1:] += BINS.double().numpy()[:, None, :]
    inside = ~out_of_gamut(lab, tolerance=0.0)  # (Q, S)
    assert inside.any(axis=1).all(), f"bins without an in-gamut colour: {BINS[~inside.any(axis=1)].tolist()}"
    witnesses = lab[np.arange(len(BINS)), inside.argmax(axis=1)][None]
    assert np.abs(rgb2lab(lab2rgb(witnesses)) - witnesses).max() < 1e-3  # clipping moves Lab by > 0.05


def test_out_of_gamut_corners_are_excluded():
    kept = {tuple(int(v) for v in p) for p in BINS.tolist()}
    for corner in [(-110, 110), (110, 110), (-110, -110), (110, -110), (100, 100), (-100, -100), (0, -110)]:
        assert corner not in kept
        a, b = corner
        offsets = np.linspace(-5.0, 5.0, 6)
        grid_a, grid_b, grid_l = np.meshgrid(a + offsets, b + offsets, np.arange(0.0, 101.0, 2.0), indexing="ij")
        lab = np.stack((grid_l, grid_a, grid_b), axis=-1).reshape(1, -1, 3)
        assert out_of_gamut(lab).all()


def test_displayable_bins_at_a_lightness():
    for lightness in (0.0, 100):
        mask = bins.displayable_bins_at(lightness)
        assert mask.dtype == torch.bool and mask.shape == (262,)
        assert BINS[mask].tolist() == [[0.0, 0.0]]  # black and white only
    blue = bin_index(80, -110)  # sRGB blue is L 32, a 79, b -108
    assert bins.displayable_bins_at(32)[blue]
    assert not bins.displayable_bins_at(50)[blue] and not bins.displayable_bins_at(90)[blue]
    assert 150 < int(bins.displayable_bins_at(50).sum()) < 262
    union = torch.zeros(262, dtype=torch.bool)
    for lightness in range(0, 101):
        union |= bins.displayable_bins_at(lightness)
    assert union.all()
    with pytest.raises(ValueError, match="0..100"):
        bins.displayable_bins_at(101)
    with pytest.raises(ValueError, match="step"):
        bins.ab_bins(0)


# --------------------------------------------------------------------------------------
# Soft encoding.
# --------------------------------------------------------------------------------------


def test_soft_encode_on_a_bin_centre_by_hand():
    target = bins.soft_encode(torch.zeros(1, 2, 1, 1), BINS)[0, :, 0, 0]
    e2 = math.exp(-2.0)  # exp(-10^2 / (2 * 5^2))
    assert target[bin_index(0, 0)].item() == pytest.approx(1 / (1 + 4 * e2), rel=1e-6)
    for a, b in [(10, 0), (-10, 0), (0, 10), (0, -10)]:
        assert target[bin_index(a, b)].item() == pytest.approx(e2 / (1 + 4 * e2), rel=1e-6)
    assert int((target > 0).sum()) == 5


def test_soft_encode_off_centre_by_hand():
    # (3, 4): squared distances 25, 45, 65, 85, 185 to (0,0), (0,10), (10,0), (10,10), (-10,0).
    ab = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    target = bins.soft_encode(ab, BINS)[0, :, 0, 0]
    squared = {(0, 0): 25, (0, 10): 45, (10, 0): 65, (10, 10): 85, (-10, 0): 185}
    total = sum(math.exp(-d / 50) for d in squared.values())
    for (a, b), d in squared.items():
        assert target[bin_index(a, b)].item() == pytest.approx(math.exp(-d / 50) / total, rel=1e-5)


def test_soft_encode_sums_to_one_and_peaks_at_the_nearest_bin():
    ab = random_ab(0, (3, 16, 16))
    target = bins.soft_encode(ab, BINS)
    assert target.shape == (3, 262, 16, 16) and target.dtype == torch.float32
    torch.testing.assert_close(target.sum(dim=1), torch.ones(3, 16, 16))
    assert int((target > 0).sum(dim=1).min()) == 5 and int((target > 0).sum(dim=1).max()) == 5
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2).double().numpy()
    nearest = ((pixels[:, None] - BINS.double().numpy()[None]) ** 2).sum(-1).argmin(axis=1)
    assert np.array_equal(target.permute(0, 2, 3, 1).reshape(-1, 262).argmax(dim=1).numpy(), nearest)
    # Far outside the gamut the weights do not underflow.
    far = bins.soft_encode(torch.full((1, 2, 1, 1), 127.0), BINS)
    assert torch.isfinite(far).all() and far.sum().item() == pytest.approx(1.0)


def test_soft_encode_checks_its_input():
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        bins.soft_encode(torch.zeros(2, 4, 4), BINS)
    with pytest.raises(ValueError, match=r"\(Q, 2\)"):
        bins.soft_encode(torch.zeros(1, 2, 4, 4), BINS[:, 0])
    with pytest.raises(ValueError, match="neighbours"):
        bins.soft_encode(torch.zeros(1, 2, 4, 4), BINS, neighbours=0)
    with pytest.raises(ValueError, match="sigma"):
        bins.soft_encode(torch.zeros(1, 2, 4, 4), BINS, sigma=-1.0)


# --------------------------------------------------------------------------------------
# Rebalancing.
# --------------------------------------------------------------------------------------


def test_bin_prior_counts_nearest_bins():
    ab = torch.zeros(1, 2, 2, 2)
    ab[0, :, 1, 1] = torch.tensor([52.0, 47.0])  # nearest bin (50, 50)
    ab[0, :, 0, 1] = torch.tensor([1.0, -2.0])  # nearest bin (0, 0)
    prior = bins.bin_prior([ab, ab[0]], BINS)  # a batch and a single image
    assert prior.shape == (262,) and prior.sum().item() == pytest.approx(1.0)
    assert prior[bin_index(0, 0)].item() == pytest.approx(0.75)
    assert prior[bin_index(50, 50)].item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="no pixels"):
        bins.bin_prior([], BINS)


def test_squared_distances_equal_the_plain_formula_bit_for_bit():
    pixels = random_ab(4, (1, 64, 64))[0].reshape(2, -1).T.contiguous()  # (4096, 2)
    plain = ((pixels[:, None, :] - BINS[None, :, :]) ** 2).sum(dim=-1)
    assert torch.equal(bins._squared_distances(pixels[:, None, :], BINS[None, :, :]), plain)


@pytest.mark.needs_data
def test_bin_prior_counts_each_pixel_once_over_several_passes(monkeypatch):
    # Kodak photos in float16 (as stored crops hold them): colours repeat within and across
    # batches. Counting each distinct value once, in passes of 5,000 pixels, must give the
    # pixel-by-pixel counts of nearest_bins exactly, and ignore an empty batch.
    from colorlib.datasets import kodak24_files
    from colorlib.images import load_image

    photos = [load_image(path)[:48, :64] for path in kodak24_files()[:3]]
    ab = torch.stack([torch.from_numpy(rgb_to_lab(photo.astype(np.float32) / 255.0)[..., 1:]).permute(2, 0, 1)
                      for photo in photos]).half()
    batches = [ab[:2].float(), torch.zeros(1, 2, 0, 4), ab[2:].float(), ab[0].float()]
    monkeypatch.setattr(bins, "_PRIOR_PIXELS_PER_PASS", 5_000)
    prior = bins.bin_prior(batches, BINS)
    nearest = torch.cat([bins.nearest_bins(batch if batch.ndim == 4 else batch[None], BINS)[0].reshape(-1)
                         for batch in batches])
    expected = torch.bincount(nearest, minlength=len(BINS)).double()
    assert torch.equal(prior, expected / expected.sum())
    assert len(nearest) == 4 * 48 * 64 and int((prior > 0).sum()) > 10
    with pytest.raises(ValueError, match="no pixels"):
        bins.bin_prior([torch.zeros(1, 2, 0, 4)], BINS)


def test_rebalancing_weights_by_hand():
    prior = bins.bin_prior([random_ab(1, (2, 32, 32))], BINS)
    centres = BINS.double().numpy()
    kernel = np.exp(-((centres[:, None] - centres[None]) ** 2).sum(-1) / (2 * 5.0**2))
    smoothed = kernel @ prior.numpy()
    smoothed /= smoothed.sum()
    expected = 1.0 / (0.5 * smoothed + 0.5 / 262)
    expected /= (smoothed * expected).sum()
    weights = bins.rebalancing_weights(prior)
    assert weights.dtype == torch.float32 and weights.shape == (262,)
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(bins.smooth_prior(prior, BINS).numpy(), smoothed, rtol=1e-10)
    assert float((torch.from_numpy(smoothed) * weights.double()).sum()) == pytest.approx(1.0, abs=1e-6)
    # Rarer bins get larger weights, and lam = 1 switches rebalancing off.
    order = np.argsort(smoothed)
    assert np.all(np.diff(weights.numpy()[order]) <= 1e-6)
    assert weights.max() > 1 > weights.min()
    torch.testing.assert_close(bins.rebalancing_weights(prior, lam=1.0), torch.ones(262))
    with pytest.raises(ValueError, match="lam"):
        bins.rebalancing_weights(prior, lam=1.5)
    with pytest.raises(ValueError, match=r"\(262,\)"):
        bins.rebalancing_weights(prior[:10])


# --------------------------------------------------------------------------------------
# Annealed mean.
# --------------------------------------------------------------------------------------


def test_annealed_mean_by_hand_on_two_bins():
    two_bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 2, 1, 1)  # p = (1/4, 3/4)
    assert bins.annealed_mean(logits, two_bins, temperature=1.0)[0, :, 0, 0].tolist() == pytest.approx([7.5, 0.0])
    assert bins.annealed_mean(logits, two_bins, temperature=0.5)[0, :, 0, 0].tolist() == pytest.approx([9.0, 0.0])  # p ~ (1, 9)


def test_annealed_mean_between_mean_and_mode():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 262, 3, 4, generator=generator) * 3
    mean = torch.einsum("nqhw,qc->nchw", torch.softmax(logits, dim=1), BINS)
    torch.testing.assert_close(bins.annealed_mean(logits, BINS, temperature=1.0), mean)
    mode = BINS[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    torch.testing.assert_close(bins.annealed_mean(logits, BINS, temperature=1e-4), mode)
    default = bins.annealed_mean(logits, BINS)
    torch.testing.assert_close(default, bins.annealed_mean(logits, BINS, temperature=0.38))
    assert bins.ANNEALED_MEAN_TEMPERATURE == 0.38
    # Annealing moves the colour away from the dull mean: more chroma on average.
    assert default.norm(dim=1).mean() > mean.norm(dim=1).mean()
    for bad in (0, -1.0, float("nan"), float("inf"), "hot", None):
        with pytest.raises(ValueError, match="temperature"):
            bins.annealed_mean(logits, BINS, temperature=bad)
    with pytest.raises(ValueError, match=r"\(N, 262, H, W\)"):
        bins.annealed_mean(logits[:, :10], BINS)


# --------------------------------------------------------------------------------------
# Loss objects.
# --------------------------------------------------------------------------------------


def test_mse_loss_is_exactly_the_papers_training_loss():
    generator = torch.Generator().manual_seed(3)
    rgb = torch.randint(0, 256, (4, 3, 8, 8), generator=generator, dtype=torch.uint8)
    ab = rgb_to_lab(rgb.float() / 255.0)[:, 1:]  # the true ab the loss objects are given
    targets = ab_to_target(ab)  # the paper's (and the course's original) training target
    prediction = torch.rand(4, 2, 8, 8, generator=generator)
    loss = losses.make_loss("mse")
    assert loss.name == "mse" and loss.output_channels == 2 and not loss.rebalance
    assert torch.equal(loss(prediction, ab), F.mse_loss(prediction.float(), targets))
    assert torch.equal(losses.make_loss("l1")(prediction, ab), F.l1_loss(prediction, targets))
    torch.testing.assert_close(loss.decode(prediction), target_to_ab(prediction))
    # bfloat16 outputs (autocast) are scored in float32, as train.py does.
    half = prediction.bfloat16()
    assert torch.equal(loss(half, ab), F.mse_loss(half.float(), targets))


def test_ab_is_area_averaged_to_the_output_size():
    ab = random_ab(4, (2, 8, 8))
    prediction = torch.rand(2, 2, 4, 4, generator=torch.Generator().manual_seed(4))
    expected = F.mse_loss(prediction, ab_to_target(F.avg_pool2d(ab, 2)))
    torch.testing.assert_close(losses.make_loss("mse")(prediction, ab), expected)
    with pytest.raises(ValueError, match="smaller than the output"):
        losses.make_loss("mse")(torch.rand(2, 2, 16, 16), ab)
    with pytest.raises(ValueError, match="batch size"):
        losses.make_loss("mse")(torch.rand(3, 2, 8, 8), ab)
    with pytest.raises(ValueError, match=r"\(N, 2, h, w\)"):
        losses.make_loss("l1")(torch.rand(2, 3, 8, 8), ab)


def test_classification_loss_is_the_soft_cross_entropy():
    ab = random_ab(5, (2, 8, 8))
    logits = torch.randn(2, 262, 4, 4, generator=torch.Generator().manual_seed(5), requires_grad=True)
    loss = losses.make_loss("classification")
    assert loss.name == "classification" and loss.output_channels == 262
    target = bins.soft_encode(F.avg_pool2d(ab, 2), BINS)
    expected = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    value = loss(logits, ab)
    torch.testing.assert_close(value, expected)
    value.backward()
    # d loss / d logits = (softmax - target) / pixels
    pixels = 2 * 4 * 4
    torch.testing.assert_close(logits.grad, (torch.softmax(logits, dim=1) - target).detach() / pixels)
    # The minimum is at softmax(logits) = target, where the loss is the target's entropy.
    perfect = torch.log(target.clamp(min=1e-30))
    entropy = -(target * perfect).sum(dim=1).mean()
    torch.testing.assert_close(loss(perfect, ab), entropy)
    assert entropy < value
    # Decoding: the annealed mean, temperature 0.38 unless overridden.
    torch.testing.assert_close(loss.decode(logits), bins.annealed_mean(logits, BINS, temperature=0.38))
    torch.testing.assert_close(loss.decode(logits, temperature=1.0), bins.annealed_mean(logits, BINS, temperature=1.0))


def test_rebalanced_losses_weight_each_pixel_by_its_nearest_bin():
    ab = random_ab(6, (2, 4, 4))
    prior = bins.bin_prior([random_ab(7, (4, 16, 16))], BINS)
    weights = bins.rebalancing_weights(prior)
    pixel_weight = weights[torch.cdist(ab.permute(0, 2, 3, 1).reshape(-1, 2), BINS).argmin(dim=1)].view(2, 1, 4, 4)
    logits = torch.randn(2, 262, 4, 4, generator=torch.Generator().manual_seed(6))
    target = bins.soft_encode(ab, BINS)
    cross_entropy = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1, keepdim=True)
    loss = losses.make_loss("classification", rebalance=True, prior=prior)
    assert loss.rebalance
    torch.testing.assert_close(loss(logits, ab), (pixel_weight * cross_entropy).mean())
    prediction = torch.rand(2, 2, 4, 4, generator=torch.Generator().manual_seed(7))
    squared = (prediction - ab_to_target(ab)) ** 2
    torch.testing.assert_close(
        losses.make_loss("mse", rebalance=True, prior=prior)(prediction, ab), (pixel_weight * squared).mean()
    )


def test_state_round_trip_through_a_checkpoint():
    ab = random_ab(8, (1, 8, 8))
    prior = bins.bin_prior([random_ab(9, (2, 16, 16))], BINS)
    generator = torch.Generator().manual_seed(8)
    cases = [
        (losses.make_loss("mse"), torch.rand(1, 2, 8, 8, generator=generator)),
        (losses.make_loss("l1", rebalance=True, prior=prior, lam=0.3), torch.rand(1, 2, 8, 8, generator=generator)),
        (
            losses.make_loss("classification", rebalance=True, prior=prior),
            torch.randn(1, 262, 8, 8, generator=generator),
        ),
    ]
    for loss, output in cases:
        state = loss.state()
        assert state["name"] == loss.name
        assert all(v is None or isinstance(v, (torch.Tensor, str, float, int, bool)) for v in state.values())
        buffer = io.BytesIO()
        torch.save({"loss": state}, buffer)
        buffer.seek(0)
        restored = losses.loss_from_state(torch.load(buffer, weights_only=True)["loss"])
        assert type(restored) is type(loss) and restored.name == loss.name and restored.rebalance == loss.rebalance
        assert restored.output_channels == loss.output_channels
        assert torch.equal(restored(output, ab), loss(output, ab))
        assert torch.equal(restored.decode(output), loss.decode(output))
    assert cases[1][0].state()["lam"] == 0.3
    assert torch.equal(cases[2][0].state()["bins"], BINS)


def test_bad_names_options_and_temperatures():
    with pytest.raises(ValueError, match="mse"):
        losses.make_loss("cross-entropy")
    with pytest.raises(ValueError, match="prior"):
        losses.make_loss("classification", rebalance=True)
    with pytest.raises(ValueError, match=r"\(262,\)"):
        losses.make_loss("classification", rebalance=True, prior=torch.ones(313))
    with pytest.raises(ValueError, match="name"):
        losses.loss_from_state({"name": "perceptual"})
    with pytest.raises(ValueError, match="ColorLoss.state"):
        losses.loss_from_state("mse")
    logits = torch.zeros(1, 262, 2, 2)
    for kind, output in (("classification", logits), ("mse", torch.zeros(1, 2, 2, 2))):
        loss = losses.make_loss(kind)
        for bad in (0.0, -0.38, float("nan")):
            with pytest.raises(ValueError, match="temperature"):
                loss.decode(output, temperature=bad)
    # Regression has no distribution to anneal: a valid temperature changes nothing.
    output = torch.rand(1, 2, 2, 2, generator=torch.Generator().manual_seed(9))
    assert torch.equal(losses.make_loss("mse").decode(output, temperature=0.38), target_to_ab(output))
    assert config.LOSS_NAMES == ("mse", "l1", "classification")


# --------------------------------------------------------------------------------------
# Notebook 07: drawing the bins and weights, the modes of a predicted distribution.
# --------------------------------------------------------------------------------------


def test_bins_on_grid_puts_each_value_in_its_cell():
    image, extent = beyond_mse.bins_on_grid(np.arange(len(BINS), dtype=float), BINS)
    assert extent == (-115.0, 115.0, -115.0, 115.0)  # |a|, |b| <= 110: 23 x 23 cells of 10
    assert image.shape == (23, 23) and np.isnan(image).sum() == 23 * 23 - 262
    # Row 0 is the top (b = 110), column 0 the left (a = -110): cell (row, column) is ab (10 c - 110, 110 - 10 r).
    for q in (0, bin_index(0, 0), bin_index(80, -110), 261):
        a, b = BINS[q].tolist()
        assert image[int(round((110 - b) / 10)), int(round((a + 110) / 10))] == q
    colors, _ = beyond_mse.bins_on_grid(np.ones((len(BINS), 3)), BINS, fill=0.5)
    assert colors.shape == (23, 23, 3) and (colors == 0.5).all(axis=-1).sum() == 23 * 23 - 262
    with pytest.raises(ValueError, match=r"\(262,\)"):
        beyond_mse.bins_on_grid(np.zeros(10), BINS)


def test_the_bins_figure_counts_and_colors_the_displayable_bins():
    import matplotlib.pyplot as plt
    from skimage.color import lab2rgb

    figure = beyond_mse.plot_ab_bins((30, 50))
    try:
        panels = [axis for axis in figure.axes if axis.get_images()]
        assert [axis.get_title() for axis in panels] == [
            f"L = {lightness}: {int(bins.displayable_bins_at(lightness).sum())} of 262 bins displayable"
            for lightness in (30, 50)
        ]
        image = panels[1].get_images()[0].get_array()
        gray_cell = image[11, 11]  # ab (0, 0) at L = 50: mid gray, as scikit-image converts it
        np.testing.assert_allclose(gray_cell, lab2rgb(np.array([[[50.0, 0.0, 0.0]]]))[0, 0], atol=1e-4)
        assert np.allclose(image[0, 0], 1.0)  # (-110, 110) is no bin: white
        blue_cell = image[int((110 + 110) / 10), int((80 + 110) / 10)]  # (80, -110): displayable at L 30 only
        assert np.allclose(blue_cell, 0.85)
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="0..100"):
        beyond_mse.plot_ab_bins((50, 120))
    with pytest.raises(ValueError, match="at least one"):
        beyond_mse.plot_ab_bins(())


def test_the_rebalancing_figure_shows_the_prior_and_the_weights():
    import matplotlib.pyplot as plt

    prior = bins.bin_prior([random_ab(3, (2, 16, 16))], BINS)
    weights = bins.rebalancing_weights(prior)
    figure = beyond_mse.plot_rebalancing(prior)
    try:
        titles = [axis.get_title() for axis in figure.axes]
        assert f"prior: {int((prior > 0).sum())} of 262 bins occur (gray: never)" in titles
        assert f"rebalancing weights: {weights.min():.2f} to {weights.max():.2f}" in titles
        shown = figure.axes[1].get_images()[0].get_array()
        assert float(np.nanmax(shown)) == pytest.approx(float(weights.max()))
    finally:
        plt.close(figure)


def test_distribution_modes_by_hand():
    from colorlib.lessons.dullness import mse_optimal_color

    bins = torch.tensor([[60.0, 40.0], [50.0, 40.0], [0.0, 0.0], [20.0, -60.0]])
    probabilities = torch.tensor([0.4, 0.1, 0.1, 0.4], dtype=torch.float64)
    modes = beyond_mse.distribution_modes(probabilities, bins)
    # Ties go to the first bin; the neighbour (50, 40) is within 10 of it and adds to its mass.
    assert modes.first == (60.0, 40.0) and modes.first_mass == pytest.approx(0.5)
    assert modes.second == (20.0, -60.0) and modes.second_mass == pytest.approx(0.4)
    expected_mean = mse_optimal_color(bins.numpy(), probabilities.numpy())
    assert modes.mean == pytest.approx(tuple(expected_mean))
    assert modes.mean == pytest.approx((37.0, -4.0))
    # The mean of two modes on either side of gray is duller than both.
    assert math.hypot(*modes.mean) < min(math.hypot(*modes.first), math.hypot(*modes.second))
    # One colour only: no second mode.
    single = beyond_mse.distribution_modes(torch.tensor([0.0, 1.0, 0.0, 0.0]), bins, separation=200.0)
    assert single.first == single.second == (50.0, 40.0) and single.second_mass == 0.0
    # Unnormalised scores are normalised.
    scaled = beyond_mse.distribution_modes(probabilities * 7, bins)
    assert (scaled.first, scaled.second) == (modes.first, modes.second)
    assert (scaled.first_mass, scaled.second_mass) == pytest.approx((modes.first_mass, modes.second_mass))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        beyond_mse.distribution_modes(torch.ones(3), bins)
    with pytest.raises(ValueError, match="separation"):
        beyond_mse.distribution_modes(probabilities, bins, separation=0)


def test_mode_masses_agree_with_distribution_modes_pixel_by_pixel():
    generator = torch.Generator().manual_seed(4)
    probabilities = torch.softmax(torch.randn(2, 262, 3, 5, generator=generator) * 2.5, dim=1)
    first, second = beyond_mse.mode_masses(probabilities, BINS)
    assert first.shape == second.shape == (2, 3, 5)
    for n, row, column in np.ndindex(2, 3, 5):
        modes = beyond_mse.distribution_modes(probabilities[n, :, row, column], BINS)
        assert float(first[n, row, column]) == pytest.approx(modes.first_mass, abs=1e-9)
        assert float(second[n, row, column]) == pytest.approx(modes.second_mass, abs=1e-9)
    torch.testing.assert_close(beyond_mse.bimodality(probabilities, BINS), second)
    with pytest.raises(ValueError, match=r"\(N, 262, H, W\)"):
        beyond_mse.mode_masses(probabilities[:, :5], BINS)


def adversarial_ab() -> torch.Tensor:
    """ab (1, 2, H, W) built to break a window search: bin centres (4 ties at 10), cell
    edges and corners (ties between cells), points just inside and outside an edge,
    the rim of the bins and values far beyond it."""
    centres = BINS.T.reshape(2, -1)
    edges = torch.cat([centres + torch.tensor([[5.0], [0.0]]), centres + torch.tensor([[0.0], [-5.0]])], dim=1)
    corners = centres + 5.0
    nudged = torch.cat([edges + 1e-4, edges - 1e-4, corners - 2e-6], dim=1)
    grid = torch.arange(-160.0, 161.0, 2.5)
    square = torch.stack(torch.meshgrid(grid, grid, indexing="ij")).reshape(2, -1)  # the rim, and far out
    extreme = torch.tensor([[1e4, -1e4, 0.0, 127.0, -128.0], [0.0, 3e3, -1e5, 127.0, -128.0]])
    values = torch.cat([centres, edges, corners, nudged, square, extreme], dim=1)
    return values.reshape(1, 2, 1, -1)


def assert_same_nearest_bins(ab: torch.Tensor, neighbours: int) -> None:
    """The grid lookup finds the same distances as brute force, and the same bins wherever
    the ``neighbours``-th bin is strictly nearer than the next (a tie there may be broken
    either way: brute force keeps what ``torch.topk`` keeps, the grid the lowest index)."""
    index, squared = bins.nearest_bins_on_grid(ab, BINS, neighbours=neighbours)
    expected_index, expected_squared = bins.nearest_bins(ab, BINS, neighbours=neighbours)
    assert index.dtype == torch.int64 and index.shape == expected_index.shape
    assert torch.equal(squared, expected_squared)
    _, one_more = bins.nearest_bins(ab, BINS, neighbours=min(neighbours + 1, len(BINS)))
    clear = one_more[:, -1] > one_more[:, neighbours - 1] if neighbours < len(BINS) else torch.ones_like(squared[:, 0], dtype=torch.bool)
    same_set = (index.sort(dim=1).values == expected_index.sort(dim=1).values).all(dim=1)
    assert bool(same_set[clear].all())
    assert float(clear.float().mean()) > 0.5  # most pixels are no boundary tie: the check has teeth


def test_nearest_bins_on_grid_finds_the_same_bins_as_nearest_bins():
    generator = torch.Generator().manual_seed(11)
    colors = random_ab(5, (4, 32, 32))  # every kind of displayable colour, rim included
    wild = torch.randn(1, 2, 16, 16, generator=generator) * 90  # far outside the bins too
    for ab in (colors, wild, adversarial_ab()):
        for neighbours in (1, 5, 12, 20):
            assert_same_nearest_bins(ab, neighbours)
    # Ties are ordered by bin index: ab (5, 0) is 5 from (0, 0) and (10, 0), then 4 bins at
    # sqrt(125); the 5 nearest keep the 3 of lowest index among those 4, a-major order.
    index, squared = bins.nearest_bins_on_grid(torch.tensor([5.0, 0.0]).reshape(1, 2, 1, 1), BINS, neighbours=5)
    assert squared.flatten().tolist() == [25.0, 25.0, 125.0, 125.0, 125.0]
    assert [tuple(BINS[i].tolist()) for i in index.flatten()] == [
        (0.0, 0.0), (10.0, 0.0), (0.0, -10.0), (0.0, 10.0), (10.0, -10.0)
    ]
    assert bins.on_grid(BINS) and bins.on_grid(bins.ab_bins(20.0), step=20.0)
    assert not bins.on_grid(BINS + 3.0) and not bins.on_grid(torch.cat([BINS, BINS[:1]]))
    with pytest.raises(ValueError, match="multiples of 10"):
        bins.nearest_bins_on_grid(colors, BINS + 3.0)


def test_soft_encode_on_the_grid_equals_brute_force_on_synthetic_values():
    ab = torch.cat([adversarial_ab().reshape(2, -1), random_ab(12, (1, 40, 40)).reshape(2, -1)], dim=1)
    ab = ab.reshape(1, 2, 1, -1)
    off_grid = BINS + torch.tensor([1e-3, 0.0])  # not on the grid: measured against every bin
    assert bins.on_grid(BINS) and not bins.on_grid(off_grid)
    index, weights = bins._soft_encoding_sparse(ab, BINS, 5, 5.0, grid_lookup=True)
    expected_index, squared = bins.nearest_bins(ab, BINS, neighbours=5)
    assert_same_nearest_bins(ab, 5)
    torch.testing.assert_close(weights, bins._soft_weights(squared, 5.0), rtol=0, atol=0)
    # The default is brute force, as every committed run was trained.
    default_index, _ = bins._soft_encoding_sparse(ab, BINS, 5, 5.0)
    assert torch.equal(default_index, expected_index)
    # Bins off the grid are measured against every bin.
    brute_index, _ = bins._soft_encoding_sparse(ab[..., :2000], off_grid, 5, 5.0, grid_lookup=True)
    assert torch.equal(brute_index, bins.nearest_bins(ab[..., :2000], off_grid, neighbours=5)[0])


@pytest.mark.needs_data
def test_soft_encode_on_the_grid_equals_brute_force_on_a_kodak_photo():
    from colorlib.datasets import kodak24_files
    from colorlib.images import load_image

    rgb = torch.from_numpy(np.array(load_image(kodak24_files(download=False)[22]))).permute(2, 0, 1)[None]
    ab = rgb_to_lab(rgb.float() / 255.0)[:, 1:, ::2, ::2].contiguous()  # 384 x 256 pixels of a real photo
    for neighbours in (1, 5):
        assert_same_nearest_bins(ab, neighbours)
    target = bins.soft_encode(ab, BINS)
    index, squared = bins.nearest_bins(ab, BINS, neighbours=5)
    expected = torch.zeros_like(target).scatter_(1, index, bins._soft_weights(squared, 5.0))
    assert torch.equal(target, expected)
    assert float(target[0, :, 100, 100].sum()) == pytest.approx(1.0, abs=1e-6)


# --------------------------------------------------------------------------------------
# Scoring at a quarter of the resolution (Zhang et al.'s 64 x 64 logits for 256 x 256).
# --------------------------------------------------------------------------------------


def test_quarter_resolution_loss_by_hand():
    # ab 8 x 8: every 4th pixel (0 or 4 in each direction) on a bin centre, the others far off.
    ab = torch.full((1, 2, 8, 8), 100.0)
    centres = {(0, 0): (0.0, 0.0), (0, 1): (20.0, -30.0), (1, 0): (-40.0, 50.0), (1, 1): (60.0, 10.0)}
    logits = torch.zeros(1, 262, 2, 2)
    for (row, column), (a, b) in centres.items():
        ab[0, :, 4 * row, 4 * column] = torch.tensor([a, b])
        logits[0, bin_index(a, b), row, column] = float(2 * row + column)  # z = 0, 1, 2, 3
    # On a centre: weight 1 / (1 + 4 e^-2) on it, the rest on 4 other bins whose logit is 0;
    # the cross-entropy is log(e^z + 261) - z / (1 + 4 e^-2).
    own = 1.0 / (1.0 + 4.0 * math.exp(-2.0))
    expected = np.mean([math.log(math.exp(z) + 261.0) - z * own for z in (0.0, 1.0, 2.0, 3.0)])
    loss = losses.make_loss("classification", score_downsample=4)
    assert float(loss(logits, ab)) == pytest.approx(expected, rel=1e-5)
    # Full-resolution logits are average-pooled to 2 x 2 first: repeated ones give the same.
    assert float(loss(logits.repeat_interleave(4, 2).repeat_interleave(4, 3), ab)) == pytest.approx(expected, rel=1e-5)
    # The default scores all 64 pixels, the 60 far-off ones included (each about log 262).
    default = losses.make_loss("classification")
    assert float(default(logits.repeat_interleave(4, 2).repeat_interleave(4, 3), ab)) > expected + 0.5


def test_quarter_resolution_option_is_stored_and_checked():
    loss = losses.make_loss("classification", score_downsample=4)
    assert loss.score_downsample == 4 and losses.make_loss("classification").score_downsample == 1
    buffer = io.BytesIO()
    torch.save({"loss": loss.state()}, buffer)
    buffer.seek(0)
    restored = losses.loss_from_state(torch.load(buffer, weights_only=True)["loss"])
    assert restored.score_downsample == 4
    logits = torch.randn(2, 262, 16, 16, generator=torch.Generator().manual_seed(3))
    ab = random_ab(13, (2, 16, 16))
    assert torch.equal(restored(logits, ab), loss(logits, ab))
    old_state = {k: v for k, v in losses.make_loss("classification").state().items() if k != "score_downsample"}
    assert losses.loss_from_state(old_state).score_downsample == 1  # checkpoints from before the option
    for bad in (0, 3, 16, 4.0, True, "4"):
        with pytest.raises(ValueError, match="score_downsample"):
            losses.make_loss("classification", score_downsample=bad)
    with pytest.raises(ValueError, match="classification loss, not of 'mse'"):
        losses.make_loss("mse", score_downsample=4)
    with pytest.raises(ValueError, match="divisible by 4"):
        loss(logits[..., :3, :3], ab[..., :6, :6])
    with pytest.raises(ValueError, match="cannot be pooled"):
        loss(logits[..., :6, :6], ab)
