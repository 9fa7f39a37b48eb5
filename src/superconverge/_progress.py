"""The progress bar of long work: tqdm on stderr when it is a terminal, or nothing at all."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int, desc: str, show: bool, unit: str = "it") -> Any:
    """A tqdm bar of ``total`` steps, or a bar that draws nothing when ``show`` is false.

    Even when shown, tqdm hides itself when stderr is not a terminal (logs, CI, pipes), and the
    bar leaves no line behind when closed.
    """
    if not show:
        return _NoBar()
    from tqdm import tqdm  # imported only when a bar is drawn

    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=None, file=sys.stderr)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass
