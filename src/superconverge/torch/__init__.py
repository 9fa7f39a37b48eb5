"""The torch layer: drive an optimizer's hyper-parameters from :mod:`superconverge.schedules`."""

import superconverge._torch_check  # noqa: F401  (fails at once on a too-old torch)
from superconverge.torch.param_scheduler import ParamScheduler, tensorize_hyperparams

__all__ = ["ParamScheduler", "tensorize_hyperparams"]
