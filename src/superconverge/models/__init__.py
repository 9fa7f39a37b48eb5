"""Built-in models: MLP, small 2-D/1-D CNNs and CIFAR ResNets, by name via ``build_model``."""

import superconverge._torch_check  # noqa: F401  (fails at once on a too-old torch)
from superconverge.models.cnn import CNN1d, SmallCNN
from superconverge.models.mlp import MLP
from superconverge.models.registry import build_model, model_names, suggest_model
from superconverge.models.resnet import BasicBlock, CifarResNet, resnet20, resnet56

__all__ = [
    "MLP",
    "BasicBlock",
    "CNN1d",
    "CifarResNet",
    "SmallCNN",
    "build_model",
    "model_names",
    "resnet20",
    "resnet56",
    "suggest_model",
]
