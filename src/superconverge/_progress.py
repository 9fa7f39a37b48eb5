"""The progress bar of long work: tqdm on stderr when it is a terminal or a notebook's output,
or nothing at all."""

from __future__ import annotations

import sys
from typing import Any


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook in Jupyter, VS Code or Colab), whose
    stderr is no terminal but shows a bar: the cell's output redraws a line at each ``\\r``."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def progress_bar(total: int, desc: str, show: bool, unit: str = "it") -> Any:
    """A tqdm bar of ``total`` steps, or a bar that draws nothing when ``show`` is false.

    Even when shown, tqdm hides itself when stderr is not a terminal (logs, CI, pipes) unless
    it is a notebook's, and the bar leaves no line behind when closed.
    """
    if not show:
        return _NoBar()
    from tqdm import tqdm  # imported only when a bar is drawn

    return tqdm(total=total, desc=desc, unit=unit, leave=False,
                disable=False if in_notebook() else None, file=sys.stderr)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass
