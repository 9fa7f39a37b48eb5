"""Write files whole or not at all: write a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. The temporary
    name keeps the target's suffix, so writers that infer the format from it (matplotlib) work.
    """
    target = Path(path)
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                   dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _naming(exc, target) from exc
    writing = True  # the caller's body runs: only its errors about our temporary file are ours
    try:
        yield Path(tmp)
        writing = False
        # mkstemp creates the file private (0600); give the result the permissions a plain
        # open() would have had, so a report written by us reads like any other file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        ours = not writing or getattr(exc, "filename", None) in (tmp, Path(tmp))
        if isinstance(exc, OSError) and ours:
            raise _naming(exc, target) from exc
        raise


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` (same type) saying it is about ``target``, not about our temporary file; ``exc``
    itself when its type cannot be built that way."""
    reason = exc.strerror or str(exc)
    try:
        if exc.errno is None:
            return type(exc)(f"cannot write {target}: {reason}")
        return type(exc)(exc.errno, f"cannot write {target}: {reason}")
    except Exception:  # an OSError subclass with another constructor
        return exc


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)  # elsewhere: set and restore (briefly visible to other threads)
    os.umask(mask)
    return mask


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Atomically save a matplotlib ``fig`` to ``path`` in the format of its suffix (none:
    PNG); an unknown suffix is a ``ValueError`` naming the path. The format is passed on,
    since the temporary file's name ends in a random tail matplotlib would take for one."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"cannot plot to {path}: matplotlib writes {', '.join(sorted(supported))}, "
            f"not {fmt!r}"
        )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
