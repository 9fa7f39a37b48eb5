"""Procedural 32x32 RGB images: noisy oriented gratings whose orientation is the class.

A stand-in for CIFAR-10 that needs no download: a ResNet-20 learns it, but not in a few
steps, and not at any learning rate — the class is carried by the grating's orientation
under random phase, frequency, position, contrast, colour, a distractor blob and pixel noise.
At the default 10 classes colour is only a weak hint (class k leans to colour k % 4 of a
palette of four), so a model has to learn oriented filters, which is what makes the learning
rate matter; with 4 classes or fewer each class has a colour of its own, which colour
statistics alone read well (83% with 2 classes, a bug bash).
"""

from __future__ import annotations

import numpy as np
import torch

from superconverge.data.dataset import Dataset
from superconverge.schedules._validate import integer, non_negative

__all__ = ["load_synthetic_images"]

MIN_SIZE = 10
"""Twice the most cycles a grating has (5): below it, sampling folds a grating into one of
another orientation, so ~12% of labels at 8 pixels would be another class's."""

# Base colours (RGB in [0, 1]); class k uses _PALETTE[k % 4], jittered per image.
_PALETTE = np.array(
    [[0.9, 0.3, 0.2], [0.2, 0.7, 0.3], [0.25, 0.35, 0.9], [0.85, 0.8, 0.25]], dtype=np.float64
)


def load_synthetic_images(
    seed: int = 0,
    num_train: int = 2000,
    num_val: int = 500,
    num_classes: int = 10,
    image_size: int = 32,
    noise: float = 0.25,
) -> Dataset:
    """Class-conditional RGB images of shape ``(N, 3, image_size, image_size)``, values in [0, 1].

    Class ``k`` is a sinusoidal grating at orientation ``180° * k / num_classes`` (±25% of the
    gap between classes), seen through a Gaussian window at a random place, with random phase,
    spatial frequency (2–5 cycles per image), contrast (0.35–1), colour and background, a
    distractor blob, and Gaussian pixel noise of std ``noise``. Labels are balanced.

    Args:
        seed: seed of every random choice; the same seed gives the same tensors.
        num_train, num_val: images in each split.
        num_classes: number of orientations (>= 2); more classes are harder to tell apart.
        image_size: side of the square images in pixels (>= 10: a grating of up to 5 cycles
            needs 10 pixels; on fewer it aliases to another angle, another class's).
        noise: std of the additive per-pixel noise, before clipping to [0, 1].
    """
    seed = integer("seed", seed, minimum=0)
    num_train = integer("num_train", num_train, minimum=1)
    num_val = integer("num_val", num_val, minimum=1)
    num_classes = integer("num_classes", num_classes, minimum=2)
    if num_train < num_classes:
        raise ValueError(f"num_train={num_train} leaves {num_classes - num_train} of the "
                         f"{num_classes} classes without a training example; num_train must "
                         f"be >= num_classes")
    image_size = integer("image_size", image_size, minimum=MIN_SIZE)
    noise = non_negative("noise", noise)

    rng = np.random.default_rng(seed)
    x_train, y_train = _draw(rng, num_train, num_classes, image_size, noise)
    x_val, y_val = _draw(rng, num_val, num_classes, image_size, noise)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        name="synthetic_images",
        num_classes=num_classes,
        input_shape=(3, image_size, image_size),
    )


def _draw(
    rng: np.random.Generator, n: int, num_classes: int, size: int, noise: float
) -> tuple[torch.Tensor, torch.Tensor]:
    y = rng.permutation(np.arange(n) % num_classes)
    col = lambda k: k.reshape(-1, 1, 1)  # noqa: E731 - (n,) -> (n, 1, 1) for broadcasting

    gap = np.pi / num_classes
    theta = col(y * gap + rng.uniform(-0.25, 0.25, n) * gap)
    freq = col(rng.uniform(2.0, 5.0, n)) * 2 * np.pi / size  # radians per pixel
    phase = col(rng.uniform(0, 2 * np.pi, n))
    cy, cx = (col(rng.uniform(0.3, 0.7, n) * size) for _ in range(2))
    sigma = col(rng.uniform(0.2, 0.35, n) * size)
    contrast = col(rng.uniform(0.35, 1.0, n))

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    along = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
    window = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    grating = contrast * window * np.sin(freq * along + phase)  # (n, size, size) in [-1, 1]

    colour = np.clip(_PALETTE[y % len(_PALETTE)] + rng.normal(0, 0.15, (n, 3)), 0, 1)
    background = rng.uniform(0.2, 0.6, (n, 3))
    img = background[:, :, None, None] + 0.5 * grating[:, None] * colour[:, :, None, None]

    # A distractor: a soft disc of random colour and place, carrying no class information.
    by, bx = (col(rng.uniform(0, size, n)) for _ in range(2))
    radius = col(rng.uniform(0.08, 0.2, n) * size)
    disc = np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * radius**2))
    blob_colour = rng.uniform(-0.4, 0.4, (n, 3))
    img = img + disc[:, None] * blob_colour[:, :, None, None]

    img = img + rng.normal(0, noise, img.shape)
    x = np.clip(img, 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
