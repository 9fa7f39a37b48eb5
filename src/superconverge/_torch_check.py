"""Imported first by the torch-facing subpackages: fails at once on a too-old torch."""

import torch

from superconverge._torch_version import check_torch

check_torch(torch.__version__)
