"""The progress bar of long work: tqdm on stderr when it is a terminal or a notebook's output,
or nothing at all."""

from __future__ import annotations

import sys
from typing import Any


def is_notebook_output(stream: object) -> bool:
    """Whether ``stream`` is a Jupyter kernel's output (a notebook in Jupyter, VS Code or
    Colab): no terminal, yet it shows a bar, the cell's output redrawing a line at each
    ``\\r``. Not where a cell redirects it (a file, a StringIO, ``%%capture``)."""
    return type(stream).__module__.startswith("ipykernel.")


def progress_bar(total: int, desc: str, show: bool, unit: str = "it") -> Any:
    """A tqdm bar of ``total`` steps, or a bar that draws nothing when ``show`` is false.

    Even when shown, tqdm hides itself when stderr is not a terminal (logs, CI, pipes) unless
    it is a notebook's. In a terminal the bar leaves no line behind when closed; in a notebook
    it stays as it ended (cleared, it left an empty band of the cell's error colour).
    """
    if not show or sys.stderr is None:  # (stderr closed, 2>&-: tqdm wrote into None, a bug bash)
        return _NoBar()
    notebook = is_notebook_output(sys.stderr)
    if not notebook and hasattr(sys.stderr, "isatty") and not sys.stderr.isatty():
        return _NoBar()  # (tqdm's own test for hiding; tqdm not imported, a bug bash's absent)
    from tqdm import tqdm  # imported only when a bar is drawn

    return tqdm(total=total, desc=desc, unit=unit, leave=notebook,
                disable=False if notebook else None, file=sys.stderr)


def rewind(bar: Any, count: int, loss: float | None = None) -> None:
    """Set ``bar`` to ``count`` steps done, and its ``loss`` postfix, where it shows another
    count: a test that stops on a point read back a few steps late ran those steps, but they
    are no part of its result; one interrupted has read the steps since the last chunk."""
    if not isinstance(bar, _NoBar) and bar.n != count:
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        bar.n = count
        bar.refresh()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass
