"""Models: shapes, the ResNet paper's parameter counts, registry checks, real SGD steps."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from superconverge.models import (
    MLP,
    CifarResNet,
    CNN1d,
    build_model,
    model_names,
    resnet20,
    resnet56,
    suggest_model,
)
from superconverge.models.resnet import BasicBlock

# (model name, input shape) pairs that must work, with a batch size that keeps them fast.
CASES = [
    ("mlp", (20,)),
    ("mlp", (1, 8, 8)),
    ("cnn", (1, 8, 8)),
    ("cnn", (3, 32, 32)),
    ("cnn1d", (1, 40)),
    ("cnn1d", (40,)),
    ("resnet20", (3, 32, 32)),
    ("resnet20", (1, 8, 8)),
    ("resnet56", (3, 32, 32)),
]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_output_shape(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = build_model(name, shape, num_classes=7)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(3, *shape))
    assert out.shape == (3, 7) and torch.isfinite(out).all()


def test_registry_names() -> None:
    assert {"mlp", "cnn", "cnn1d", "resnet20", "resnet56"} <= set(model_names())


@pytest.mark.parametrize(
    ("factory", "expected"),
    [(resnet20, 269_722), (resnet56, 853_018), (lambda: CifarResNet(110), 1_727_962)],
)
def test_resnet_parameter_counts_match_the_paper(factory, expected) -> None:
    # He et al. 2016, table 6: 0.27M (ResNet-20), 0.85M (ResNet-56), 1.7M (ResNet-110)
    assert n_params(factory()) == expected


def test_resnet_uses_option_a_shortcuts() -> None:
    model = resnet20()
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9  # 3 stages x n=3
    # the two down-sampling shortcuts subsample and zero-pad: no parameters, exact identity
    down = [b for b in blocks if not isinstance(b.shortcut, nn.Identity)]
    assert len(down) == 2 and all(n_params(b.shortcut) == 0 for b in down)
    x = torch.randn(2, 16, 32, 32)
    y = down[0].shortcut(x)
    assert y.shape == (2, 32, 16, 16)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2]) and not y[:, 16:].any()


def test_resnet_kaiming_init_and_zero_init_residual() -> None:
    torch.manual_seed(0)
    conv = resnet56().blocks[0].conv1  # 16 -> 16 channels, 3x3: fan_in = 144
    assert float(conv.weight.detach().std()) == pytest.approx((2 / 144) ** 0.5, rel=0.05)
    zeroed = resnet20(zero_init_residual=True)
    assert all(not b.bn2.weight.any() for b in zeroed.modules() if isinstance(b, BasicBlock))


def test_cnn1d_is_the_mnist1d_paper_model() -> None:
    model = CNN1d(40, 10)
    assert n_params(model) == 5_210  # ConvBase: 3 convs of 25 channels, Linear(125, 10)
    assert model.classifier.in_features == 125


def test_cnn1d_with_batch_norm_normalizes_after_each_convolution() -> None:
    model = CNN1d(40, 10, batch_norm=True)
    kinds = [type(m).__name__ for m in model.modules()
             if isinstance(m, (torch.nn.Conv1d, torch.nn.BatchNorm1d))]
    assert kinds == ["Conv1d", "BatchNorm1d"] * 3
    assert n_params(model) == 5_210 + 3 * 2 * 25  # a weight and a bias per channel
    assert model(torch.randn(4, 1, 40)).shape == (4, 10)


def test_mlp_flattens_and_options() -> None:
    model = MLP(12, 3, hidden=(8,), batch_norm=True, dropout=0.1)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert model(torch.randn(4, 3, 4)).shape == (4, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: build_model("vgg", (3, 32, 32), 10), ValueError, r"unknown model 'vgg'.*mlp"),
        (
            lambda: build_model("cnn1d", (3, 32, 32), 10),
            ValueError,
            r"'cnn1d' expects 1-D signals.*got input_shape=\(3, 32, 32\)",
        ),
        (
            lambda: build_model("resnet20", (1, 40), 10),
            ValueError,
            r"'resnet20' expects images.*got input_shape=\(1, 40\);.*use 'cnn1d'",
        ),
        (
            lambda: build_model("cnn", (8, 8), 10),  # a grey image without its channel
            ValueError,
            r"add a channel dimension, \(1, H, W\)",
        ),
        (lambda: build_model("cnn", (1, 2, 2), 10), ValueError, "at least 4x4 pixels"),
        (lambda: build_model("cnn", (5,), 2), ValueError, "use 'mlp' for flat features"),
        (lambda: build_model("mlp", (20,), 1), ValueError, "num_classes must be >= 2, got 1"),
        (lambda: build_model("mlp", (0, 3), 2), ValueError, r"input_shape\[0\] must be >= 1"),
        (lambda: build_model("mlp", 20, 2), TypeError, "input_shape must be a sequence"),
        (
            lambda: build_model("resnet20", (3, 32, 32), 10, widht=8),
            TypeError,
            r"unknown option\(s\) widht; it accepts: .*width",
        ),
        (lambda: CifarResNet(21), ValueError, r"depth must be 6n \+ 2"),
        (lambda: build_model("cnn", (1, 8, 8), 10, widths=()), ValueError,
         "widths must name at least one stage, got an empty sequence"),
        (lambda: build_model("cnn1d", (1, 2), 10), ValueError,
         r"'cnn1d' needs signals of length >= 3, got input_shape=\(1, 2\)"),
        (lambda: MLP(4, 2, dropout=1.0), ValueError, r"dropout must be a fraction in \[0, 1\)"),
    ],
)
def test_bad_arguments_are_named(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(("shape", "error", "match"), [
    (5, TypeError, "input_shape must be a sequence of ints, got 5"),
    ((-1, 4), ValueError, r"input_shape\[0\] must be >= 1, got -1"),
    ((3, 0, 32), ValueError, r"input_shape\[1\] must be >= 1, got 0"),
    ((), ValueError, "at least one dimension"),
])
def test_suggest_model_checks_the_shape_as_build_model_does(shape, error, match) -> None:
    """It used to answer 'cnn1d' for (-1, 4) and 'mlp' for (3, 0, 32), which build_model then
    refused, and fail on 5 with "'int' object is not iterable"."""
    with pytest.raises(error, match=match):
        suggest_model(shape)
    with pytest.raises(error, match=match):
        build_model("mlp", shape, 2)


def test_suggest_model_by_shape() -> None:
    assert suggest_model((20,)) == "mlp"
    assert suggest_model((1, 40)) == "cnn1d"
    assert suggest_model((1, 8, 8)) == "cnn"
    assert suggest_model((3, 32, 32)) == "resnet20"
    assert suggest_model((3, 3, 3)) == suggest_model((1, 2, 40)) == "mlp"  # too small to pool
    # signals too short for the 1-D CNN's kernel: it was suggested, and then refused them
    assert suggest_model((2, 2)) == suggest_model((1, 1)) == "mlp"
    with pytest.warns(UserWarning, match=r"input_shape=\(40, 1\) looks channels-last \(length, "
                      r"channels\).*from \(N, L, C\) to \(N, C, L\), e.g. x.transpose\(0, 2, 1\); "
                      "suggesting 'mlp'"):
        assert suggest_model((40, 1)) == "mlp"  # Keras' (N, length, channels) time series
    # ... and one of 3 or 4 channels (an accelerometer's x, y, z): long enough for the kernel
    # either way, so cnn1d, but said (it was read as 40 channels of 3 samples in silence)
    for shape in [(40, 3), (100, 4)]:
        with pytest.warns(UserWarning, match=rf"input_shape=\({shape[0]}, {shape[1]}\) is read "
                          rf"as {shape[0]} channels of length {shape[1]}.*\(length, channels\)"):
            assert suggest_model(shape) == "cnn1d"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert suggest_model((3, 40)) == suggest_model((5, 5)) == suggest_model((4, 4)) == "cnn1d"
    for shape in [(20,), (1, 40), (1, 8, 8), (3, 32, 32), (3, 3, 3), (1, 2, 40), (2, 2), (1, 1)]:
        build_model(suggest_model(shape), shape, 2)  # the suggestion always builds


def test_grey_images_without_their_channel_axis_say_how_to_add_it() -> None:
    """An .npz of MNIST-like (N, 28, 28) images trained a 1-D CNN over 28 "channels", with
    --standardize normalising each image row, without a word."""
    with pytest.warns(UserWarning, match=r"input_shape=\(28, 28\) is read as 28 channels of "
                      r"length 28.*x\[:, None\], for the shape \(1, 28, 28\)"):
        assert suggest_model((28, 28)) == "cnn1d"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert suggest_model((12, 500)) == "cnn1d"  # 12-lead signals: not square
        assert suggest_model((4, 4)) == "cnn1d"  # too small to be an image worth a warning


def test_channels_last_shapes_say_how_to_transpose() -> None:
    hint = r"looks channels-last.*transpose the images from \(N, H, W, C\) to \(N, C, H, W\)"
    with pytest.warns(UserWarning, match=hint):
        assert suggest_model((16, 16, 3)) == "mlp"  # flattening works in any layout
    with pytest.raises(ValueError, match=r"got input_shape=\(16, 16, 3\); input_shape.*" + hint):
        build_model("cnn", (16, 16, 3), 2)
    with pytest.warns(UserWarning, match="model='resnet20': .*" + hint):
        build_model("resnet20", (32, 32, 4), 2)


def test_warnings_through_find_lr_point_at_its_caller(tmp_path) -> None:
    """A bug bash: the raw-scale and channels-last warnings of find_lr pointed into
    recipes/find_lr.py, levels fixed for a direct call of load_data or suggest_model."""
    import numpy as np

    from superconverge.recipes import find_lr

    r = np.random.default_rng(0)
    x = r.normal(50, 20, (300, 10)).astype("f4")
    np.savez(tmp_path / "raw.npz", x=x, y=(x[:, 0] > 50).astype("i8"))
    np.savez(tmp_path / "hwc.npz", x=r.normal(0, 1, (200, 16, 16, 3)).astype("f4"),
             y=r.integers(0, 2, 200))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        find_lr(data=tmp_path / "raw.npz", num_iter=10, progress=False)
        find_lr(data=tmp_path / "hwc.npz", num_iter=10, progress=False)
        find_lr(data=tmp_path / "hwc.npz", num_iter=10, progress=False, model="resnet20")
    said = {(str(w.message)[:30], w.filename) for w in got
            if "inputs have mean" in str(w.message) or "channels-last" in str(w.message)}
    assert len(said) == 3 and {f for _, f in said} == {__file__}, said
    with pytest.warns(UserWarning, match="looks channels-last") as direct:
        suggest_model((16, 16, 3))
    assert direct[0].filename == __file__


@pytest.mark.parametrize(
    ("name", "shape", "lr"),
    [
        ("mlp", (20,), 0.1),
        ("cnn", (1, 8, 8), 0.05),
        ("cnn1d", (1, 40), 0.2),
        ("resnet20", (3, 32, 32), 0.05),
    ],
)
def test_a_few_sgd_steps_reduce_the_loss(name: str, shape: tuple[int, ...], lr: float) -> None:
    """Real training on one fixed batch (train mode): every model must start to fit it."""
    torch.manual_seed(0)
    x, y = torch.randn(16, *shape), torch.arange(16) % 4
    model = build_model(name, shape, num_classes=4)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize(("name", "shape", "options", "said"), [
    ("resnet20", (3, 32, 32), {"zero_init_residual": "False"},
     "zero_init_residual must be True or False, got 'False' (str)"),
    ("mlp", (20,), {"batch_norm": "no"}, "batch_norm must be True or False, got 'no' (str)"),
    ("cnn", (1, 8, 8), {"batch_norm": 0}, "batch_norm must be True or False, got 0 (int)"),
    ("cnn1d", (1, 40), {"batch_norm": []}, "batch_norm must be True or False, got [] (list)"),
    ("mlp", (20,), {"hidden": 64}, "hidden must be a list of layer widths, got 64 (int)"),
    ("cnn", (1, 8, 8), {"widths": 64}, "widths must be a list of stage widths, got 64 (int)"),
])
def test_model_options_of_the_wrong_type_are_refused_by_name(name, shape, options, said) -> None:
    """A string from a config ("False", "no") turned a switch on; a width where a list of
    them belongs said only "'int' object is not iterable"."""
    import re

    with pytest.raises(TypeError, match=re.escape(said)):
        build_model(name, shape, 3, **options)


def test_input_shape_may_be_a_numpy_array_but_not_a_string() -> None:
    import numpy as np

    assert isinstance(build_model("mlp", np.array([20]), 3), nn.Module)
    with pytest.raises(TypeError, match="input_shape must be a sequence of ints, got '20'"):
        build_model("mlp", "20", 3)


def test_a_model_name_that_is_no_string_and_a_narrowing_block_are_refused() -> None:
    """An audit: build_model(["mlp"], ...) failed as "unhashable type: 'list'"; BasicBlock(32,
    16, stride=2) dropped channels 16-31 in its shortcut (a negative pad), where option A
    appends zero channels."""
    with pytest.raises(TypeError, match=r"the model's name must be a str, one of mlp, .*got "
                       r"\['mlp'\] \(list\)"):
        build_model(["mlp"], (20,), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"out_channels \(16\) must be >= in_channels \(32\)"):
        BasicBlock(32, 16, stride=2)
    assert BasicBlock(16, 32, stride=2)(torch.rand(1, 16, 8, 8)).shape == (1, 32, 4, 4)
