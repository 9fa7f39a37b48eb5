"""Data: built-in offline datasets, your own files (.npz, CSV, image folder), and loaders.

Everything returns a :class:`Dataset` (float32 inputs, int64 labels, train and validation
splits in memory); :func:`train_val_loaders` turns one into reproducible ``DataLoader``s.
"""

import superconverge._torch_check  # noqa: F401  (fails at once on a too-old torch)
from superconverge.data.cache import default_cache_dir
from superconverge.data.dataset import Dataset
from superconverge.data.digits import load_digits
from superconverge.data.files import (
    IMAGE_EXTENSIONS,
    image_shape,
    load_csv,
    load_image_folder,
    load_npz,
)
from superconverge.data.loaders import make_loader, train_val_loaders
from superconverge.data.mnist1d import MNIST1D_SEED, load_mnist1d
from superconverge.data.registry import dataset_names, load_dataset
from superconverge.data.split import train_val_split
from superconverge.data.synthetic import load_synthetic
from superconverge.data.synthetic_images import load_synthetic_images

__all__ = [
    "IMAGE_EXTENSIONS",
    "MNIST1D_SEED",
    "Dataset",
    "dataset_names",
    "default_cache_dir",
    "image_shape",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_mnist1d",
    "load_npz",
    "load_synthetic",
    "load_synthetic_images",
    "make_loader",
    "train_val_loaders",
    "train_val_split",
]
