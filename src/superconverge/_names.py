"""The names the command line offers: built-in datasets, models, optimizers, suggestion rules.

They live here, free of torch, so that the parser imports no torch: ``superconverge --help``
and the torch-free ``superconverge schedule`` start in a fraction of a second. The modules that
implement them (``superconverge.data``, ``.models``, ``.recipes``, ``.finder``) import torch;
``tests/test_cli_schedule.py`` checks that their registries hold exactly these names.
"""

from __future__ import annotations

DATASETS: tuple[str, ...] = ("digits", "mnist1d", "synthetic", "synthetic_images")
"""``superconverge.data.dataset_names()``."""

MODELS: tuple[str, ...] = (
    "mlp", "cnn", "cnn1d", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
)
"""``superconverge.models.model_names()``."""

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "rmsprop")
"""``superconverge.recipes.OPTIMIZERS``: what ``make_optimizer`` builds by name."""

METHODS: tuple[str, ...] = ("default", "steepest", "minimum", "valley")
"""``superconverge.finder.METHODS``: the range test's suggestion rules."""

MIN_POINTS: int = 8
"""``superconverge.finder.suggest.MIN_POINTS``: the fewest points a suggestion rule reads, so
the fewest steps ``find-lr --num-iter`` takes."""

MAX_ITER: int = 1_000_000
"""``superconverge.finder.range_test.MAX_ITER``: the most steps a range test takes (its LRs are
built up front; Smith's test takes a few hundred, so more is a typo, not a test)."""

MAX_IMAGE_SIZE: int = 1024
"""``superconverge.data.files.MAX_IMAGE_SIZE``: the largest side images are resized to. The
built-in models are made for 32 x 32; at 1024 a 1024 x 1024 RGB image is 12 MB as float32,
and one of the CNN's activations for a batch of 64 is 8 GiB (at 4096 the range test's first
step took this 24 GiB machine's memory)."""

FIND_LR_STEM: str = "lr_find"
"""``find-lr`` writes ``OUT/lr_find.json`` and ``OUT/lr_find.png``; stopped by Ctrl-C or an
error midway, the curve measured so far to ``OUT/lr_find.partial.json`` and ``.png``
(:data:`FIND_LR_PARTIAL_STEM`), beside a finished run's files."""
FIND_LR_PARTIAL_STEM: str = "lr_find.partial"
