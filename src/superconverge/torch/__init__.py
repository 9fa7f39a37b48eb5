"""The torch layer: drive an optimizer's hyper-parameters from :mod:`superconverge.schedules`."""

from superconverge.torch.param_scheduler import ParamScheduler, tensorize_hyperparams

__all__ = ["ParamScheduler", "tensorize_hyperparams"]
