"""One call at the top of every notebook: seeds, print options, plot style."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and PyTorch so every run prints the same numbers."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, *, threads: int | None = 1, plots: bool = True) -> None:
    """Prepare a notebook: seed everything, round printed tensors, set the plot style.

    ``threads=1`` runs PyTorch on one core. The book's models are small, so one thread is
    as fast or faster (no thread start-up per operation), results do not depend on the core
    count, and two notebooks running side by side (as in the test suite) do not fight over
    cores. A chapter that trains something larger may pass ``threads=None`` (PyTorch's
    default, all cores). ``plots=False`` skips matplotlib (for scripts that draw nothing).
    """
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    if plots:
        from .plotting import use_book_style

        use_book_style()
