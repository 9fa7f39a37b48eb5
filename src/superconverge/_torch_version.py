"""The oldest torch this package works with, checked when a torch-facing part is imported.

torch 2.6 is the oldest release the whole test suite passes on (on the CPU, 2026-12-01: 2.6.0,
2.11.0, 2.13.0 and 2.15.0 pass; 2.5.1 and 2.4.1 fail, 2.2.2 fails 48 tests). Before 2.6, dynamo
specialises a Python float in SGD's ``momentum`` and recompiles a compiled step at every new
value of a cyclical momentum, and ``AdamW`` takes no tensor ``betas[0]`` of a dtype other than
its parameters'; before 2.3, ``torch.amp.GradScaler`` does not exist. Importing the package with
an older torch fails at once with :class:`TorchTooOld`, instead of deep inside a run: the
torch-facing subpackages import ``superconverge._torch_check`` first. This module itself imports
no torch, so the CLI can catch the error without importing torch.
"""

from __future__ import annotations

import re

MIN_TORCH = (2, 6)


class TorchTooOld(ImportError):
    """The installed torch is older than :data:`MIN_TORCH`."""


def check_torch(version: str) -> None:
    """Raise :class:`TorchTooOld` if ``version`` (a ``torch.__version__``) is older than
    :data:`MIN_TORCH`; a version that cannot be read is let through."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match and (int(match[1]), int(match[2])) < MIN_TORCH:
        need = ".".join(map(str, MIN_TORCH))
        raise TorchTooOld(
            f"superconverge needs torch>={need}, found torch {version}; upgrade it "
            f"(pip install 'torch>={need}')"
        )
