"""Shared test settings."""

import torch

# One intra-op thread: on a 2-core machine, torch's thread pool fighting with anything else
# running makes small-model steps 10-100x slower, and results do not depend on thread count.
torch.set_num_threads(1)
