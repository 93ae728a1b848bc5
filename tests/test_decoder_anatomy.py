"""colorlib.lessons.decoder_anatomy: nearest versus bilinear up-sampling (the widget and its figure),
the luma input, and where the mosaics come from (grids, the border frame, the checkerboard)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib.datasets import kodak24_files
from colorlib.images import load_image, square_crop
from colorlib.inference import predict_ab
from colorlib.lessons import decoder_anatomy
from colorlib.model import ColorizationNet
from colorlib.samples import sample_photo
from colorlib.weights import load_pretrained


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    return ColorizationNet().eval()


# --- nearest versus bilinear --------------------------------------------------------


def test_square_crop_takes_the_centre():
    image = np.zeros((40, 80, 3), dtype=np.uint8)
    image[:, 20:60] = 200  # the centre square is all 200
    square = square_crop(image, 16)
    assert square.shape == (16, 16, 3) and square.dtype == np.uint8
    assert (square == 200).all()
    with pytest.raises(ValueError, match="uint8"):
        square_crop(image.astype(np.float32), 16)


def test_half_resolution_prediction_is_the_model_before_its_last_upsample(random_net):
    x = torch.rand(2, 1, 64, 64)
    half = decoder_anatomy.predict_half_resolution(random_net, x)
    assert half.shape == (2, 2, 32, 32)
    with torch.no_grad():
        full = random_net(x)
    assert torch.equal(decoder_anatomy.upsample_ab(half, (64, 64), mode="nearest"), full)
    assert decoder_anatomy.is_block_constant(full, block=2) and not decoder_anatomy.is_block_constant(full, block=4)
    assert not decoder_anatomy.is_block_constant(decoder_anatomy.upsample_ab(half, (64, 64), mode="bilinear"), block=2)
    with pytest.raises(ValueError, match="divisible by 8"):
        decoder_anatomy.predict_half_resolution(random_net, torch.rand(1, 1, 60, 64))


def _shown(comparison: decoder_anatomy.UpsamplingComparison) -> np.ndarray:
    """The picture the widget shows now, decoded from its PNG."""
    return np.asarray(Image.open(io.BytesIO(comparison.image.value)).convert("RGB"))


def _enlarged(rgb: np.ndarray, scale: int) -> np.ndarray:
    return rgb.repeat(scale, axis=0).repeat(scale, axis=1)


def test_upsampling_widget_responds_to_its_controls(random_net):
    comparison = decoder_anatomy.UpsamplingComparison(random_net, square_crop(sample_photo("chelsea"), 64), display_size=128)
    # The widget shows the view of its toggle and slider, enlarged to 128 pixels by pixel repetition.
    nearest = _shown(comparison)
    assert nearest.shape == (128, 128, 3)
    assert np.array_equal(nearest, _enlarged(comparison.view("nearest", 1), 2))
    comparison.mode.value = "bilinear"
    bilinear = _shown(comparison)
    assert np.array_equal(bilinear, _enlarged(comparison.view("bilinear", 1), 2))
    assert not np.array_equal(bilinear, nearest)  # the two modes paint differently (their ab: below)
    comparison.zoom.value = 4
    centre = comparison.view("bilinear", 4)
    assert centre.shape == (16, 16, 3) and np.array_equal(centre, comparison.view("bilinear", 1)[24:40, 24:40])
    assert np.array_equal(_shown(comparison), _enlarged(centre, 8))
    rgb_nearest, ab_nearest = decoder_anatomy.colorize_from_half_resolution(comparison.photo, comparison.half_target, mode="nearest")
    _, ab_bilinear = decoder_anatomy.colorize_from_half_resolution(comparison.photo, comparison.half_target, mode="bilinear")
    assert decoder_anatomy.is_block_constant(torch.from_numpy(ab_nearest).permute(2, 0, 1), block=2)
    assert not np.allclose(ab_nearest, ab_bilinear)
    figure = decoder_anatomy.draw_nearest_vs_bilinear(comparison, zoom=4)
    assert len(figure.axes) == 6
    with pytest.raises(ValueError, match="square uint8"):
        decoder_anatomy.UpsamplingComparison(random_net, sample_photo("chelsea"))


# --- the luma input -----------------------------------------------------------------


@pytest.mark.needs_data
def test_luma_input_changes_the_released_predictions_little():
    model = load_pretrained("paper", progress=False)
    result = decoder_anatomy.compare_luma_and_lightness(model, square_crop(sample_photo("chelsea"), 112))
    assert 0.05 < result.mean_abs_delta_ab < 2.0  # ab units: different inputs, small change
    assert result.mean_abs_delta_ab < result.mean_abs_ab


def test_luma_comparison_decodes_a_classification_head_into_ab():
    # 262 logits per pixel, not ab targets: the comparison must decode them through the bins
    from skimage.color import rgb2gray

    from colorlib.inference import network_input
    from colorlib.losses import make_loss

    torch.manual_seed(0)
    model = ColorizationNet(decoder=make_loss("classification"), input_size=32).eval()
    photo = square_crop(sample_photo("chelsea"), 32)
    result = decoder_anatomy.compare_luma_and_lightness(model, photo)
    luma = torch.from_numpy(rgb2gray(photo).astype(np.float32))[None, None]
    with torch.no_grad():
        from_lightness = model.output_decoder.decode(model(network_input([photo], input_size=32)))
        from_luma = model.output_decoder.decode(model(luma))
    assert from_lightness.shape == (1, 2, 32, 32)
    assert result.mean_abs_ab == pytest.approx(float(from_lightness.abs().mean()), rel=1e-5)
    assert result.mean_abs_delta_ab == pytest.approx(float((from_luma - from_lightness).abs().mean()), rel=1e-5)
    assert 0 < result.mean_abs_delta_ab


# --- where the mosaics come from: grids, the border frame, the checkerboard -----------


def _ab(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    return np.stack([a, np.zeros_like(a) if b is None else b], axis=-1).astype(np.float32)


def test_boundary_jumps_hand_worked():
    # a = column index: every jump across a column boundary is (1 + 0) / 2 = 0.5, across rows 0;
    # each class has as many row as column boundaries in a square, so every class has 0.25.
    ramp = np.tile(np.arange(9.0), (9, 1))
    assert decoder_anatomy.boundary_jumps(_ab(ramp)) == {1: 0.25, 2: 0.25, 4: 0.25, 8: 0.25}
    # one step of 10 in a between columns 7 and 8: 10 rows jump by 5 at position 8,
    # position 8 also has 10 row-boundaries without a jump: (10 * 5) / 20 = 2.5.
    step = np.zeros((10, 10))
    step[:, 8:] = 10.0
    assert decoder_anatomy.boundary_jumps(_ab(step)) == {1: 0.0, 2: 0.0, 4: 0.0, 8: 2.5}
    # b counts like a; a step at column 6 is class 2 (6 is even, not a multiple of 4 or 8)
    b_step = np.zeros((10, 10))
    b_step[:, 6:] = -4.0
    assert decoder_anatomy.boundary_jumps(_ab(np.zeros((10, 10)), b_step), periods=(2, 4, 8)) == {1: 0.0, 2: 0.5, 4: 0.0, 8: 0.0}
    # rows count like columns: the transpose gives the same numbers
    assert decoder_anatomy.boundary_jumps(_ab(step.T)) == decoder_anatomy.boundary_jumps(_ab(step))


def test_boundary_jumps_nearest_upsampling_has_no_jump_inside_its_blocks():
    rng = np.random.default_rng(3)
    small = rng.normal(0, 10, (12, 12, 2)).astype(np.float32)
    doubled = small.repeat(2, axis=0).repeat(2, axis=1)
    jumps = decoder_anatomy.boundary_jumps(doubled)
    assert jumps[1] == 0.0 and min(jumps[2], jumps[4], jumps[8]) > 5.0
    noise = decoder_anatomy.boundary_jumps(rng.normal(0, 10, (64, 64, 2)).astype(np.float32))
    assert max(noise.values()) / min(noise.values()) < 1.1  # no grid in white noise: all classes alike


def test_boundary_jumps_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        decoder_anatomy.boundary_jumps(np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        decoder_anatomy.boundary_jumps(np.zeros((16, 16, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="periods"):
        decoder_anatomy.boundary_jumps(np.zeros((16, 16, 2)), periods=(1, 2))
    with pytest.raises(ValueError, match="at least 9 pixels"):
        decoder_anatomy.boundary_jumps(np.zeros((8, 8, 2)))


def test_mosaic_jumps_of_a_random_network(random_net):
    photos = [square_crop(sample_photo(name), 64) for name in ("chelsea", "coffee")]
    jumps = decoder_anatomy.mosaic_jumps(random_net, photos)
    assert jumps.photos == 2 and list(jumps.nearest) == [1, 2, 4, 8]
    assert jumps.nearest[1] == 0.0 and jumps.bilinear[1] > 0.0
    # each photo weighs the same: the mean of the two single-photo measurements
    single = [decoder_anatomy.mosaic_jumps(random_net, [photo]) for photo in photos]
    for period in (1, 2, 4, 8):
        assert jumps.true[period] == pytest.approx((single[0].true[period] + single[1].true[period]) / 2)
    # the model's row is its real output, measured directly
    direct = decoder_anatomy.boundary_jumps(predict_ab(photos[0], random_net, input_size=64, upsample="nearest"))
    assert direct == pytest.approx(single[0].nearest, abs=1e-6)
    assert "true colours" in jumps.table() and f"{jumps.nearest[8]:.2f}" in jumps.table()
    with pytest.raises(ValueError, match="at least one photo"):
        decoder_anatomy.mosaic_jumps(random_net, [])


@pytest.mark.needs_data
def test_the_released_model_paints_on_the_8_pixel_grid():
    model = load_pretrained("paper", progress=False)
    photos = [square_crop(load_image(path), 224) for path in kodak24_files(download=False)[:4]]
    jumps = decoder_anatomy.mosaic_jumps(model, photos)
    # the photos' own colours know no grid; the model's jump most on the 28 x 28 grid (8 px)
    assert max(jumps.true.values()) / min(jumps.true.values()) < 1.2
    assert jumps.nearest[1] == 0.0 < jumps.nearest[2] < jumps.nearest[4] < jumps.nearest[8]
    # a bilinear last layer smooths the 2-px blocks but keeps the 8-px grid
    assert jumps.bilinear[8] > 1.5 * jumps.bilinear[2]


def test_flat_input_response_is_the_model_on_a_flat_picture(random_net):
    ab = decoder_anatomy.flat_input_response(random_net, input_size=32, lightness=40)
    assert ab.shape == (32, 32, 2) and ab.dtype == np.float32
    with torch.no_grad():
        expected = random_net.predict_ab(torch.full((1, 1, 32, 32), 0.4))[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(ab, expected)
    with pytest.raises(ValueError, match="divisible by 8"):
        decoder_anatomy.flat_input_response(random_net, input_size=30)
    with pytest.raises(ValueError, match="0..100"):
        decoder_anatomy.flat_input_response(random_net, lightness=120)


def test_border_frame_hand_worked():
    ab = np.zeros((6, 6, 2))
    ab[0, :, 1] = -6.0  # top row bluer
    ab[:, 5, 0] = 3.0  # right column redder
    frame = decoder_anatomy.border_frame(ab, border=1)
    assert frame.top == (0.5, -6.0)  # one of its 6 pixels is in the right column: a = 3 / 6
    assert frame.right == (3.0, -1.0)  # b: one of its 6 pixels is in the top row
    assert frame.bottom == (0.5, 0.0) and frame.left == (0.0, -1.0) and frame.inside == (0.0, 0.0)
    assert "-6.0" in frame.table()
    with pytest.raises(ValueError, match="border"):
        decoder_anatomy.border_frame(ab, border=3)


@pytest.mark.needs_data
def test_the_released_model_paints_a_flat_gray_blue_with_a_bluer_top_edge():
    ab = decoder_anatomy.flat_input_response(load_pretrained("paper", progress=False), input_size=224, lightness=50)
    frame = decoder_anatomy.border_frame(ab, border=8)
    assert -30 < frame.inside[1] < -15  # a flat mid gray comes out blue (b < 0)
    assert frame.top[1] < frame.inside[1] - 5 and frame.bottom[1] > frame.inside[1] + 2


def test_checkerboard_example_hand_worked():
    grid, transposed, upsampled = decoder_anatomy.checkerboard_example(side=2, kernel_size=3)
    assert grid.tolist() == [[1, 1], [1, 1]]
    # kernels overlapping each output, per direction: 1, 2, 1, 1; weights 4/9
    counts = np.outer([1, 2, 1, 1], [1, 2, 1, 1])
    np.testing.assert_allclose(transposed, counts * 4 / 9, rtol=1e-6)
    # 3x3 mean after nearest doubling: 1 inside, 6/9 on the edges, 4/9 in the corners (zero padding)
    np.testing.assert_allclose(upsampled, np.outer([2, 3, 3, 2], [2, 3, 3, 2]) / 9, rtol=1e-6)
    _, even, _ = decoder_anatomy.checkerboard_example(side=4, kernel_size=4)
    np.testing.assert_allclose(even[1:-1, 1:-1], 1.0, rtol=1e-6)  # kernel 4, stride 2: no checkerboard
    _, odd, flat = decoder_anatomy.checkerboard_example(side=4, kernel_size=3)
    assert sorted(set(np.round(odd[:-1, :-1] * 9 / 4, 4).ravel().tolist())) == [1.0, 2.0, 4.0]
    np.testing.assert_allclose(flat[1:-1, 1:-1], 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="kernel_size"):
        decoder_anatomy.checkerboard_example(kernel_size=1)


def test_mosaic_figures_are_drawn():
    jumps = decoder_anatomy.MosaicJumps(2, {1: 1.0, 2: 1.0}, {1: 0.0, 2: 0.4}, {1: 0.2, 2: 0.2})
    figure = decoder_anatomy.draw_mosaic_jumps(jumps)
    labels = {text.get_text() for text in figure.axes[0].texts}
    assert {"1.00", "0.00", "0.40", "0.20"} <= labels
    assert len(decoder_anatomy.draw_checkerboard(*decoder_anatomy.checkerboard_example(side=2)).axes[0].patches) == 4 + 16 + 16
