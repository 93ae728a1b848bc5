"""colorlib.model: the network's shapes, freezing, parameter counts and the offline fallback."""

from __future__ import annotations

import socket
import warnings

import pytest
import torch
from torch import nn

from colorlib import weights
from colorlib.model import ColorizationNet, make_decoder, make_encoder
from colorlib.weights import build_colorization_net


@pytest.fixture(scope="module")
def released_encoder() -> dict[str, torch.Tensor]:
    """The encoder of the authors' 100-epoch checkpoint, from the shared cache."""
    return weights.load_pretrained("paper", progress=False).encoder.state_dict()


@pytest.fixture(scope="module")
def net() -> ColorizationNet:
    torch.manual_seed(0)
    return ColorizationNet().eval()


# --------------------------------------------------------------------------------------
# Shapes.
# --------------------------------------------------------------------------------------


def _shapes_through(sequential: nn.Sequential, x: torch.Tensor) -> list[tuple[int, ...]]:
    shapes = []
    for layer in sequential:
        x = layer(x)
        shapes.append(tuple(x.shape))
    return shapes


def test_encoder_shapes_at_every_stage(net):
    with torch.inference_mode():
        shapes = _shapes_through(net.encoder, torch.rand(2, 1, 224, 224))
    # conv1 (stride 2), bn1, relu, maxpool (stride 2), layer1, layer2 (stride 2)
    assert shapes == [
        (2, 64, 112, 112),
        (2, 64, 112, 112),
        (2, 64, 112, 112),
        (2, 64, 56, 56),
        (2, 64, 56, 56),
        (2, 128, 28, 28),
    ]


def test_decoder_shapes_at_every_stage(net):
    with torch.inference_mode():
        shapes = _shapes_through(net.decoder, torch.rand(2, 128, 28, 28))
    channels_and_sides = [(shape[1], shape[2]) for shape in shapes]
    assert channels_and_sides == [
        (128, 28), (128, 28), (128, 28), (128, 56),  # conv, bn, relu, upsample
        (64, 56), (64, 56), (64, 56), (64, 112),
        (32, 112), (32, 112), (32, 112),
        (2, 112), (2, 224),  # last conv, last upsample: no output activation
    ]
    assert isinstance(net.decoder[-1], nn.Upsample)


@pytest.mark.parametrize("height, width", [(64, 96), (8, 8), (40, 200)])
def test_any_size_divisible_by_8(net, height, width):
    with torch.inference_mode():
        middle = net.encoder(torch.rand(1, 1, height, width))
        out = net(torch.rand(1, 1, height, width))
    assert tuple(middle.shape) == (1, 128, height // 8, width // 8)
    assert tuple(out.shape) == (1, 2, height, width)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("height, width", [(225, 224), (224, 100), (12, 16)])
def test_size_not_divisible_by_8_is_a_value_error(net, height, width):
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.rand(1, 1, height, width))


@pytest.mark.parametrize("shape", [(1, 3, 224, 224), (1, 224, 224), (224, 224), (2, 2, 64, 64)])
def test_wrong_input_shape_is_a_value_error(net, shape):
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        net(torch.rand(*shape))


def test_one_channel_conv1_sums_the_rgb_filters():
    torch.manual_seed(1)
    from torchvision.models import resnet18

    resnet = resnet18(weights=None)
    encoder = make_encoder(resnet)
    assert tuple(encoder[0].weight.shape) == (64, 1, 7, 7)
    torch.testing.assert_close(encoder[0].weight, resnet.conv1.weight.sum(dim=1, keepdim=True))
    # For a gray image (R = G = B) the gray network answers what the RGB one would have.
    resnet.eval()
    encoder.eval()
    gray = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        rgb_answer = nn.Sequential(*list(resnet.children())[:6])(gray.expand(1, 3, 32, 32))
        torch.testing.assert_close(encoder(gray), rgb_answer, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------
# Freezing.
# --------------------------------------------------------------------------------------


def test_encoder_frozen_by_default_and_its_batch_norm_stays_in_eval():
    model = ColorizationNet()
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())
    model.train()
    assert model.training and model.decoder.training
    assert not any(m.training for m in model.encoder.modules())
    # One training step leaves the ResNet part, running statistics included, untouched.
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model(torch.rand(4, 1, 32, 32)).square().mean()
    loss.backward()
    optimizer.step()
    after = model.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.decoder[0].weight.grad is not None


def test_unfreeze_option():
    model = ColorizationNet(freeze_encoder=False).train()
    assert all(p.requires_grad for p in model.parameters())
    assert all(m.training for m in model.encoder.modules())
    running_mean = model.encoder[1].running_mean.clone()
    model(torch.rand(4, 1, 32, 32))
    assert not torch.equal(model.encoder[1].running_mean, running_mean)  # BN statistics move
    # and the method form, both ways
    model.freeze_encoder(True)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert not model.encoder.training and model.decoder.training
    model.freeze_encoder(False)
    assert all(p.requires_grad for p in model.encoder.parameters()) and model.encoder.training


# --------------------------------------------------------------------------------------
# Parameter counts.
# --------------------------------------------------------------------------------------


def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def _batch_norm(channels: int) -> int:  # weight and bias (its running stats are buffers)
    return 2 * channels


def test_trainable_parameters_are_the_decoder_counted_by_hand():
    decoder = (
        _conv(128, 128, 3) + _batch_norm(128)
        + _conv(128, 64, 3) + _batch_norm(64)
        + _conv(64, 32, 3) + _batch_norm(32)
        + _conv(32, 2, 3)
    )
    assert decoder == 240_866
    model = ColorizationNet()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == decoder
    assert sum(p.numel() for p in make_decoder().parameters()) == decoder


def test_frozen_parameters_are_half_a_resnet18_counted_by_hand():
    def basic_block(c_in: int, c_out: int, downsample: bool) -> int:
        convs = _conv(c_in, c_out, 3, bias=False) + _conv(c_out, c_out, 3, bias=False)
        extra = _conv(c_in, c_out, 1, bias=False) + _batch_norm(c_out) if downsample else 0
        return convs + 2 * _batch_norm(c_out) + extra

    encoder = (
        _conv(1, 64, 7, bias=False) + _batch_norm(64)
        + 2 * basic_block(64, 64, False)
        + basic_block(64, 128, True) + basic_block(128, 128, False)
    )
    model = ColorizationNet()
    assert sum(p.numel() for p in model.parameters() if not p.requires_grad) == encoder == 676_800


@pytest.mark.needs_data
def test_float_parameters_and_buffers_match_the_authors_file():
    model = ColorizationNet()
    ours = sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())
    authors = weights.load_authors_module(weights.download(weights.PAPER_CHECKPOINTS["paper"], progress=False))
    theirs = sum(t.numel() for t in authors.state_dict().values() if t.is_floating_point())
    assert ours == theirs == 920_034
    # the same tensors, in the same order, under their names mapped to ours
    their_shapes = [tuple(t.shape) for t in authors.state_dict().values()]
    assert [tuple(t.shape) for t in model.state_dict().values()] == their_shapes


# --------------------------------------------------------------------------------------
# ImageNet weights with the network unreachable.
# --------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network (every connect and name lookup fails) and an empty torch hub cache."""
    attempts = []

    def refuse_connect(self, address):
        attempts.append(address)
        raise OSError("network unreachable (blocked by the test)")

    def refuse_lookup(*args, **kwargs):
        attempts.append(args[:2])
        raise socket.gaierror("name lookup blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    torch_home = tmp_path / "torch-home"
    torch_home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    return attempts


def _build_offline() -> tuple[ColorizationNet, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_colorization_net("imagenet")
    return model, [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.needs_data
def test_imagenet_offline_falls_back_to_the_released_encoder(released_encoder, offline):
    assert weights.is_cached("paper")  # the shared cache (COLORLIB_CACHE) holds model100.pth
    model, runtime_warnings = _build_offline()
    assert offline, "torchvision should have tried the network"
    assert len(runtime_warnings) == 1
    message = str(runtime_warnings[0].message)
    assert "ImageNet weights" in message and "released checkpoint" in message
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, released_encoder[key]), key
    assert model.training and not model.encoder.training
    assert not any(p.requires_grad for p in model.encoder.parameters())


@pytest.mark.needs_data
def test_imagenet_offline_with_an_empty_cache_falls_back_to_random(released_encoder, offline, isolated_cache):
    assert not weights.is_cached("paper")
    model, runtime_warnings = _build_offline()
    assert len(runtime_warnings) == 1
    assert "random initialisation" in str(runtime_warnings[0].message)
    assert list(isolated_cache.iterdir()) == []  # it did not try to fetch the checkpoint
    assert not torch.equal(model.encoder[0].weight, released_encoder["0.weight"])
    # a working network all the same
    with torch.inference_mode():
        assert tuple(model.eval()(torch.rand(1, 1, 32, 32)).shape) == (1, 2, 32, 32)


@pytest.mark.needs_data
def test_build_released_and_random_and_bad_names(released_encoder):
    from_release = build_colorization_net("released")
    for key, value in from_release.encoder.state_dict().items():
        assert torch.equal(value, released_encoder[key]), key
    # "random": drawn from torch's generator, so one seed gives the very same network ...
    torch.manual_seed(7)
    random_a = build_colorization_net("random")
    torch.manual_seed(7)
    random_b = build_colorization_net("random")
    for key, value in random_a.state_dict().items():
        assert torch.equal(value, random_b.state_dict()[key]), key
    # ... and it is not the released encoder (nothing was loaded into it).
    for key in ("0.weight", "4.0.conv1.weight", "5.1.conv2.weight"):
        assert not torch.equal(random_a.encoder.state_dict()[key], released_encoder[key]), key
    with pytest.raises(ValueError, match="expected one of 'released', 'imagenet', 'random'"):
        build_colorization_net("places")


def test_eval_mode_restores_the_mode_also_when_the_block_raises():
    from colorlib.model import eval_mode

    norm = torch.nn.BatchNorm2d(2).train()
    with pytest.raises(RuntimeError, match="inside"):
        with eval_mode(norm):
            assert not norm.training
            raise RuntimeError("inside")
    assert norm.training
    with eval_mode(norm.eval()):
        pass
    assert not norm.training  # a module in eval mode stays there
