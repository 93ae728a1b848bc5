"""colorlib.lessons.decoder_anatomy and its neighbours: the measured ResNet-18 table, the max-pool and
up-sampling examples, the shape traces, the parameter counts (colorlib.model), the
nearest/bilinear widget (colorlib.lessons.color_space) and the checkpoint forensics (colorlib.lessons.authors_checkpoints)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet18, resnet34

from colorlib.datasets import kodak24_files
from colorlib.images import load_image, square_crop
from colorlib.inference import predict_ab
from colorlib.lessons import authors_checkpoints, decoder_anatomy, encoder_anatomy
from colorlib.lessons.layers import parameter_counts
from colorlib.model import ColorizationNet, make_encoder
from colorlib.samples import sample_photo
from colorlib.weights import (
    PAPER_CHECKPOINTS,
    download,
    load_authors_module,
    load_pretrained,
)


@pytest.fixture(scope="module")
def paper_files():
    return [download(PAPER_CHECKPOINTS[name], progress=False) for name in ("paper-epoch40", "paper-epoch90", "paper")]


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    return ColorizationNet().eval()


# --- Figure 2 -----------------------------------------------------------------------


def test_layer_table_matches_the_known_resnet18_sizes():
    rows = encoder_anatomy.layer_table(resnet18(weights=None), input_size=224)
    assert [row.name for row in rows] == [
        "input", "conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "average pool", "fully connected", "softmax",
    ]
    assert [row.output_shape for row in rows] == [
        (3, 224, 224), (64, 112, 112), (64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7), (512, 1, 1), (1000,), (1000,),
    ]
    assert [row.output_size for row in rows[1:4]] == ["112x112x64", "56x56x64", "28x28x128"]
    assert [row.name for row in rows if row.kept] == ["conv1", "conv2_x", "conv3_x"]
    operations = {row.name: row.operations for row in rows}
    assert operations["conv1"] == ("7x7, 64, stride 2",)
    assert operations["conv2_x"] == ("3x3 max pool, stride 2", "[3x3, 64; 3x3, 64] x 2")
    assert operations["conv3_x"] == ("[3x3, 128; 3x3, 128] x 2, stride 2",)
    assert operations["average pool"] == ("7x7 average pool",)
    assert operations["fully connected"] == ("512 x 1000 fully connected",)


def test_layer_table_is_measured_not_typed():
    # Another input size and another depth give other numbers, read off the live model.
    rows = {row.name: row for row in encoder_anatomy.layer_table(resnet34(weights=None), input_size=64)}
    assert rows["conv3_x"].output_shape == (128, 8, 8)
    assert rows["conv5_x"].output_shape == (512, 2, 2)
    assert rows["average pool"].operations == ("2x2 average pool",)
    assert rows["conv2_x"].operations[-1] == "[3x3, 64; 3x3, 64] x 3"
    assert rows["conv4_x"].operations == ("[3x3, 256; 3x3, 256] x 6, stride 2",)
    # The one-channel conv1 of the paper's encoder changes the input row only.
    model = resnet18(weights=None)
    model.conv1 = make_encoder(model)[0]
    rows = encoder_anatomy.layer_table(model, input_size=96)
    assert rows[0].output_shape == (1, 96, 96) and rows[3].output_shape == (128, 12, 12)


def test_layer_table_leaves_no_hooks_and_keeps_the_mode():
    model = resnet18(weights=None).train()
    encoder_anatomy.layer_table(model, input_size=64)
    assert model.training
    assert all(not module._forward_hooks for module in model.modules())


def test_layer_table_rejects_what_is_not_a_resnet():
    with pytest.raises(ValueError, match="torchvision ResNet"):
        encoder_anatomy.layer_table(ColorizationNet().encoder)
    with pytest.raises(ValueError, match="input_size"):
        encoder_anatomy.layer_table(resnet18(weights=None), input_size=0)


def test_format_and_draw_layer_table():
    rows = encoder_anatomy.layer_table()
    text = encoder_anatomy.format_layer_table(rows)
    assert "28x28x128" in text and text.count("yes") == 3
    figure = encoder_anatomy.draw_layer_table(rows)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "the paper cuts here:\n28x28x128" in texts
    assert "kept (shaded):\n224 -> 112 -> 56 -> 28" in texts


# --- Figures 3 and 4 ----------------------------------------------------------------


def test_max_pool_example_hand_worked():
    grid, pooled, winners = encoder_anatomy.max_pool_example()
    # windows: {3,1,4,8} {0,2,5,1} {2,0,1,9} {7,6,3,4}
    assert pooled.tolist() == [[8, 5], [9, 7]]
    assert winners.tolist() == [[5, 6], [13, 10]]  # flat indices row * 4 + column
    assert grid.flatten()[winners.flatten()].tolist() == [8, 5, 9, 7]
    values = np.arange(36, dtype=np.float32).reshape(6, 6)[::-1]
    _, pooled, _ = encoder_anatomy.max_pool_example(values.copy())
    assert pooled.numpy().tolist() == values.reshape(3, 2, 3, 2).max(axis=(1, 3)).tolist()


def test_max_pool_example_rejects_odd_sides():
    with pytest.raises(ValueError, match="even"):
        encoder_anatomy.max_pool_example(np.ones((3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        encoder_anatomy.max_pool_example(np.ones((2, 2, 2)))


def test_upsample_example_blocks():
    grid, up = encoder_anatomy.upsample_example()
    assert grid.tolist() == [[3]] and up.tolist() == [[3, 3], [3, 3]]
    _, up = encoder_anatomy.upsample_example(((3, 7), (1, 5)))
    assert up.tolist() == [[3, 3, 7, 7], [3, 3, 7, 7], [1, 1, 5, 5], [1, 1, 5, 5]]
    assert decoder_anatomy.is_block_constant(up, block=2)
    _, smooth = encoder_anatomy.upsample_example(((3, 7), (1, 5)), mode="bilinear")
    assert smooth[0].tolist() == [3, 4, 6, 7]  # align_corners=False: weights 3/4, 1/4
    assert not decoder_anatomy.is_block_constant(smooth, block=2)
    with pytest.raises(ValueError, match="mode"):
        encoder_anatomy.upsample_example(mode="bicubic")


def test_drawn_grids_show_every_number():
    figure = encoder_anatomy.draw_max_pool(*encoder_anatomy.max_pool_example())
    numbers = [t.get_text() for t in figure.axes[0].texts if t.get_text().isdigit()]
    assert sorted(numbers) == sorted([str(v) for row in encoder_anatomy.MAX_POOL_EXAMPLE for v in row] + ["8", "5", "9", "7"])
    figure = encoder_anatomy.draw_upsample([encoder_anatomy.upsample_example()])
    assert [t.get_text() for t in figure.axes[0].texts].count("3") == 5


# --- encoder and decoder ------------------------------------------------------------


def test_trace_shapes_of_the_decoder(random_net):
    rows = encoder_anatomy.trace_shapes(random_net.decoder, torch.zeros(1, 128, 28, 28))
    shapes = [row.output_shape for row in rows]
    assert shapes[0] == (128, 28, 28)
    assert shapes[4] == (128, 56, 56) and shapes[8] == (64, 112, 112) and shapes[12] == (2, 112, 112)
    assert shapes[-1] == (2, 224, 224) and len(rows) == 14
    assert rows[4].layer == "Upsample(x2, nearest)"
    assert all(not m._forward_hooks for m in random_net.modules())


def test_encoder_feature_maps_and_trace(random_net):
    x = torch.rand(1, 1, 64, 64)
    maps = encoder_anatomy.encoder_feature_maps(random_net.encoder, x)
    assert list(maps) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2"]
    assert maps["conv1"].shape == (64, 32, 32) and maps["layer2"].shape == (128, 8, 8)
    assert float(maps["relu"].min()) >= 0 and float(maps["bn1"].min()) < 0  # in-place ReLU did not clobber bn1
    assert torch.allclose(maps["layer2"], random_net.encoder(x)[0])
    rows = encoder_anatomy.trace_shapes(random_net.encoder, x, names=encoder_anatomy.encoder_layer_names())
    assert [row.name for row in rows] == ["input", *encoder_anatomy.encoder_layer_names()]
    with pytest.raises(ValueError, match=r"\(1, 1, H, W\)"):
        encoder_anatomy.encoder_feature_maps(random_net.encoder, torch.rand(2, 1, 64, 64))


def test_receptive_fields_hand_worked():
    rows = {name: (field, jump) for name, field, jump in encoder_anatomy.receptive_fields(resnet18(weights=None))}
    assert rows["conv1"] == (7, 2)  # 1 + 6*1
    assert rows["maxpool"] == (11, 4)  # 7 + 2*2
    assert rows["layer1.1.conv2"] == (43, 4)  # 11 + 4 convs * 2*4
    assert rows["layer2.1.conv2"] == (99, 8)  # 43 + 2*4 + 3 convs * 2*8
    assert not any("downsample" in name for name in rows)


def test_parameter_counts_frozen_and_trainable():
    net = ColorizationNet()
    encoder, decoder = parameter_counts(net.encoder), parameter_counts(net.decoder)
    assert (encoder.trainable, encoder.frozen) == (0, 676_800)
    assert (decoder.trainable, decoder.frozen) == (240_866, 0)
    assert parameter_counts(net).float_values == 920_034
    net.freeze_encoder(False)
    assert parameter_counts(net).trainable == 917_666


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


def test_upsampling_widget_responds_to_its_controls(random_net):
    comparison = decoder_anatomy.UpsamplingComparison(random_net, square_crop(sample_photo("chelsea"), 64), display_size=128)
    nearest = comparison.image.value
    assert Image.open(io.BytesIO(nearest)).size == (128, 128)
    comparison.mode.value = "bilinear"
    bilinear = comparison.image.value
    assert bilinear != nearest
    comparison.zoom.value = 4
    zoomed = Image.open(io.BytesIO(comparison.image.value))
    assert comparison.image.value != bilinear and zoomed.size == (128, 128)
    assert comparison.view("bilinear", 4).shape == (16, 16, 3)
    rgb_nearest, ab_nearest = decoder_anatomy.colorize_from_half_resolution(comparison.photo, comparison.half_target, mode="nearest")
    _, ab_bilinear = decoder_anatomy.colorize_from_half_resolution(comparison.photo, comparison.half_target, mode="bilinear")
    assert decoder_anatomy.is_block_constant(torch.from_numpy(ab_nearest).permute(2, 0, 1), block=2)
    assert not np.allclose(ab_nearest, ab_bilinear)
    figure = decoder_anatomy.draw_nearest_vs_bilinear(comparison, zoom=4)
    assert len(figure.axes) == 6
    with pytest.raises(ValueError, match="square uint8"):
        decoder_anatomy.UpsamplingComparison(random_net, sample_photo("chelsea"))


# --- the released checkpoints --------------------------------------------------------


def test_luma_input_changes_the_released_predictions_little():
    model = load_pretrained("paper", progress=False)
    result = decoder_anatomy.compare_luma_and_lightness(model, square_crop(sample_photo("chelsea"), 112))
    assert 0.05 < result.mean_abs_delta_ab < 2.0  # ab units: different inputs, small change
    assert result.mean_abs_delta_ab < result.mean_abs_ab


def test_describe_checkpoint_reads_the_authors_file(paper_files):
    facts = authors_checkpoints.describe_checkpoint(paper_files[-1])
    assert facts.file_name == "model100.pth"
    assert "__main__.ColorizationNet" in facts.pickled_globals
    assert "torchvision.models.resnet.BasicBlock" in facts.pickled_globals
    assert facts.children == (("midlevel_resnet", "Sequential"), ("upsample", "Sequential"))
    assert facts.counts.float_values == 920_034
    assert (facts.counts.trainable, facts.counts.frozen) == (244_002, 673_664)  # their conv1 was trainable
    assert facts.conv1_in_channels == 3 and facts.conv1_weight_shape == (64, 1, 7, 7)
    assert facts.batches_tracked == (62_500,)
    assert facts.upsample_modes == ("nearest",) * 3
    assert "midlevel_resnet.4" in authors_checkpoints.module_tree(load_authors_module(paper_files[-1]))


def test_the_three_checkpoints_differ_only_in_batch_norm_statistics(paper_files):
    rows = authors_checkpoints.compare_checkpoints(paper_files)
    parameters = [row for row in rows if row.kind == "parameter"]
    assert len(parameters) == 44 and all(row.identical for row in parameters)
    different = [row for row in rows if not row.identical]
    assert different and all(row.kind == "buffer" for row in different)
    assert {row.name.rsplit(".", 1)[1] for row in different} == {"running_mean", "running_var", "num_batches_tracked"}
    with pytest.raises(ValueError, match="at least two"):
        authors_checkpoints.compare_checkpoints(paper_files[:1])


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
