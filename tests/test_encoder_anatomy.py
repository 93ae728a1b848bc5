"""colorlib.lessons.encoder_anatomy: the measured ResNet-18 table (Figure 2), the max-pool and
up-sampling examples (Figures 3 and 4), the shape traces, feature maps and receptive fields,
and the parameter counts (colorlib.lessons.layers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import resnet18, resnet34

from colorlib.lessons import decoder_anatomy, encoder_anatomy
from colorlib.lessons.layers import parameter_counts
from colorlib.model import ColorizationNet, make_encoder


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
