"""``build_model(name, input_shape, num_classes)``: every built-in model by name, shape-checked."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.models.cnn import CNN1d, SmallCNN
from superconverge.models.mlp import MLP
from superconverge.models.resnet import CifarResNet
from superconverge.schedules._validate import integer

__all__ = ["build_model", "model_names", "suggest_model"]

_OURS = (__name__, "superconverge.recipes.find_lr")
"""Where this module's warnings look past for the caller's line: find_lr builds the model it
suggests (a bug bash: find_lr's warnings pointed into find_lr)."""

# The advice of a too-small image for the 'cnn': find_lr, which passes no widths, replaces it.
WIDTHS_ADVICE = "pass fewer widths or use "

_RESNET_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56, "resnet110": 110}


def _mlp(shape: tuple[int, ...], num_classes: int, **kw: Any) -> nn.Module:
    return MLP(math.prod(shape), num_classes, **kw)


def _cnn(shape: tuple[int, ...], num_classes: int, **kw: Any) -> nn.Module:
    _require_images("cnn", shape)
    model = SmallCNN(shape[0], num_classes, **kw)
    if min(shape[1:]) < model.min_size:
        raise ValueError(
            f"model='cnn' needs images of at least {model.min_size}x{model.min_size} pixels "
            f"(one 2x2 pooling between stages), got input_shape={shape}; "
            + (_channels_last_hint(shape) or f"{WIDTHS_ADVICE}'mlp'")
        )
    _warn_if_channels_last("cnn", shape)
    return model


def _cnn1d(shape: tuple[int, ...], num_classes: int, **kw: Any) -> nn.Module:
    if len(shape) not in (1, 2):
        raise ValueError(
            f"model='cnn1d' expects 1-D signals with input_shape (channels, length) or "
            f"(length,), got input_shape={shape}; for images use 'cnn' or 'resnet20'"
        )
    channels, length = (1, shape[0]) if len(shape) == 1 else shape
    if length < 3:
        raise ValueError(f"model='cnn1d' needs signals of length >= 3, got input_shape={shape}")
    return CNN1d(length, num_classes, in_channels=channels, **kw)


def _resnet(depth: int) -> Callable[..., nn.Module]:
    def build(shape: tuple[int, ...], num_classes: int, **kw: Any) -> nn.Module:
        _require_images(f"resnet{depth}", shape)
        _warn_if_channels_last(f"resnet{depth}", shape)
        return CifarResNet(depth, num_classes, in_channels=shape[0], **kw)

    return build


def _looks_channels_last(shape: tuple[int, ...]) -> bool:
    """``(H, W, C)`` with ``C`` in 1, 3, 4 below ``H`` and ``W``: NumPy/PIL order, not torch's."""
    return (
        len(shape) == 3
        and shape[2] in (1, 3, 4)
        and shape[0] not in (1, 3, 4)
        and (min(shape[:2]) > shape[2])
    )


def _channels_last_hint(shape: tuple[int, ...]) -> str:
    if not _looks_channels_last(shape):
        return ""
    return (
        f"input_shape={shape} looks channels-last (height, width, channels), but models take "
        f"(channels, height, width): transpose the images from (N, H, W, C) to (N, C, H, W), "
        "e.g. x.transpose(0, 3, 1, 2) or x.permute(0, 3, 1, 2)"
    )


def _warn_if_channels_last(name: str, shape: tuple[int, ...]) -> None:
    # The model builds (H channels of W x C pixels), but almost surely by mistake.
    if _looks_channels_last(shape):
        warnings.warn(f"model={name!r}: {_channels_last_hint(shape)}", SuperconvergeWarning,
                      stacklevel=outside(*_OURS))


def _require_images(name: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        hint = (
            "for grey images add a channel dimension, (1, H, W); for (channels, length) "
            "signals use 'cnn1d'"
            if len(shape) == 2
            else "use 'mlp' for flat features"
        )
        raise ValueError(
            f"model={name!r} expects images with input_shape (channels, height, width), "
            f"got input_shape={shape}; {hint}"
        )


_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "cnn": _cnn,
    "cnn1d": _cnn1d,
    **{name: _resnet(depth) for name, depth in _RESNET_DEPTHS.items()},
}
# The class each builder constructs, to list its options in error messages.
_CLASSES: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "cnn": SmallCNN,
    "cnn1d": CNN1d,
    **dict.fromkeys(_RESNET_DEPTHS, CifarResNet),
}
_FIXED = {"in_features", "in_channels", "num_classes", "length", "depth"}


def model_names() -> tuple[str, ...]:
    """Names accepted by :func:`build_model`."""
    return tuple(_BUILDERS)


def check_model_name(name: object) -> str:
    """``name`` if :func:`build_model` knows it; else ``ValueError`` listing those it does
    (``TypeError`` for a name that is no string)."""
    if not isinstance(name, str):
        raise TypeError(f"the model's name must be a str, one of {', '.join(_BUILDERS)}; got "
                        f"{name!r} ({type(name).__name__})")
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(_BUILDERS)}")
    return name


def build_model(
    name: str, input_shape: Sequence[int], num_classes: int, **kwargs: Any
) -> nn.Module:
    """A freshly initialised model for examples of ``input_shape`` and ``num_classes`` classes.

    Args:
        name: one of :func:`model_names`: ``"mlp"`` (any input, flattened), ``"cnn"`` (images
            ``(C, H, W)``), ``"cnn1d"`` (signals ``(C, L)`` or ``(L,)``), ``"resnet20"``,
            ``"resnet32"``, ``"resnet44"``, ``"resnet56"``, ``"resnet110"`` (images, CIFAR-style).
        input_shape: shape of one example without the batch dimension, e.g.
            ``Dataset.input_shape``.
        num_classes: output width (logits).
        **kwargs: model options, e.g. ``hidden=(256,)`` for ``mlp``, ``batch_norm=True`` for
            ``cnn1d``, ``zero_init_residual=True`` for the ResNets.

    Raises:
        ValueError: unknown name, or an input shape the model cannot take.
        TypeError: an option the model does not accept (the message lists those it does).
    """
    check_model_name(name)
    shape = _checked_shape(input_shape)
    num_classes = integer("num_classes", num_classes, minimum=2)
    options = [p for p in inspect.signature(_CLASSES[name]).parameters if p not in _FIXED]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise TypeError(
            f"model={name!r} got unknown option(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(options)}"
        )
    return _BUILDERS[name](shape, num_classes, **kwargs)


def _checked_shape(input_shape: object) -> tuple[int, ...]:
    """``input_shape`` as a tuple of ints >= 1, or a ``TypeError``/``ValueError`` naming it."""
    if type(input_shape).__module__ == "numpy" and getattr(input_shape, "ndim", None) == 1:
        input_shape = input_shape.tolist()  # type: ignore[attr-defined]  # np.array([1, 8, 8])
    if isinstance(input_shape, int | str | bytes) or not isinstance(input_shape, Sequence):
        raise TypeError(f"input_shape must be a sequence of ints, got {input_shape!r}")
    shape = tuple(integer(f"input_shape[{i}]", d, minimum=1) for i, d in enumerate(input_shape))
    if not shape:
        raise ValueError("input_shape must have at least one dimension, got ()")
    return shape


def suggest_model(input_shape: Sequence[int]) -> str:
    """A sensible default model name for examples of ``input_shape``.

    Flat features -> ``"mlp"``; signals ``(C, L)`` -> ``"cnn1d"`` (shorter than 3, too short
    for its kernel, ``"mlp"``; with a warning where ``(L, C)`` looks meant: ``L`` under 5 and
    more channels than that); images at least
    16 pixels on a side -> ``"resnet20"``; smaller images (8x8 digits) -> ``"cnn"``; images
    under 4 pixels on a side, too small to pool, -> ``"mlp"``. A square ``(H, W)`` of 8 or more
    (grey images without their channel axis?) gets ``"cnn1d"`` and a warning saying how to add
    the axis. A shape that looks channels-last,
    ``(H, W, C)``, gets ``"mlp"`` (which flattens any layout) and a warning saying how to
    transpose it. A shape that is not a sequence of ints >= 1 raises ``TypeError`` or
    ``ValueError`` naming it, as in :func:`build_model`.
    """
    shape = _checked_shape(input_shape)
    if len(shape) == 2:
        if shape[0] == shape[1] >= 8:
            # (28, 28): grey images saved without their channel axis (Keras' and MNIST's
            # (N, H, W)) far more often than signals with as many channels as samples.
            warnings.warn(
                f"suggest_model: input_shape={shape} is read as {shape[0]} channels of length "
                f"{shape[1]} (1-D signals, 'cnn1d'); if these are grey images, add their channel "
                f"axis, x[:, None], for the shape (1, {shape[0]}, {shape[1]})",
                SuperconvergeWarning,
                stacklevel=outside(*_OURS),
            )
        if shape[1] >= 3:
            if shape[1] <= 4 < shape[0]:
                # (40, 3): 40 channels of 3 samples, or Keras' (length, channels) order of an
                # accelerometer's x, y, z, far more likely.
                warnings.warn(
                    f"suggest_model: input_shape={shape} is read as {shape[0]} channels of "
                    f"length {shape[1]} (1-D signals, 'cnn1d'); if it is (length, channels), as "
                    "Keras keeps time series, transpose the signals from (N, L, C) to (N, C, L), "
                    "e.g. x.transpose(0, 2, 1)",
                    SuperconvergeWarning,
                    stacklevel=outside(*_OURS),
                )
            return "cnn1d"
        # Too short for the 1-D CNN's kernel of 3: "mlp" flattens it. (40, 1) is most likely
        # Keras' (length, channels) order.
        if shape[0] >= 3:
            warnings.warn(
                f"suggest_model: input_shape={shape} looks channels-last (length, channels), "
                "but models take (channels, length): transpose the signals from (N, L, C) to "
                "(N, C, L), e.g. x.transpose(0, 2, 1); suggesting 'mlp'",
                SuperconvergeWarning,
                stacklevel=outside(*_OURS),
            )
        return "mlp"
    if len(shape) == 3:
        if _looks_channels_last(shape):
            warnings.warn(
                f"suggest_model: {_channels_last_hint(shape)}; suggesting 'mlp'",
                SuperconvergeWarning,
                stacklevel=outside(*_OURS),
            )
            return "mlp"
        if min(shape[1:]) < 4:  # SmallCNN's min_size: one 2x2 pooling needs 4 pixels
            return "mlp"
        return "resnet20" if min(shape[1:]) >= 16 else "cnn"
    return "mlp"
