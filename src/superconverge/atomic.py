"""Write files whole or not at all: write a temporary file beside the target, then rename (a
stream such as ``/dev/stdout`` gets the finished file's bytes instead)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. The temporary
    name keeps the target's suffix, so writers that infer the format from it (matplotlib) work.
    A symbolic link stays a link: the file it points to is the one replaced. A stream is
    written into, never replaced: a character device (``/dev/null``, a terminal), a named pipe,
    or an open file descriptor (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``, also where
    it is redirected to a file, which it appends to); its bytes go in once the body has
    written them all, from a temporary file in the system's temporary folder. A block device
    or a socket is refused.
    """
    target = Path(path)
    kind = _stream_kind(target)
    if kind == "refused":
        raise _naming(OSError(errno.EINVAL, "a block device or socket, not a file"), target)
    if kind == "stream":
        with _write_through(target) as through:
            yield through
        return
    shown = target  # errors name the path the user gave, not where a link leads
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder")
        existing = target.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():  # mkdir would say "File exists"
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file, not a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                   dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _naming(exc, shown) from exc
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
        if isinstance(exc, OSError) and (not writing or _about(exc, Path(tmp))):
            raise _naming(exc, shown) from exc
        raise


def _stream_kind(target: Path) -> str:
    """"stream" for a target written into (a character device, a named pipe, or an open file
    descriptor reached through a link such as ``/dev/stdout -> /proc/self/fd/1``, whatever it
    is redirected to), "refused" for a block device or socket, "file" otherwise."""
    hop, seen = target, 0
    while True:  # a link chain through /proc/*/fd or /dev/fd is a descriptor, not a file
        text = os.path.abspath(hop)
        if text.startswith("/dev/fd/") or (text.startswith("/proc/") and "/fd/" in text):
            return "stream" if os.path.exists(text) else "file"
        if not os.path.islink(hop) or seen > 40:
            break
        hop, seen = Path(os.path.dirname(text)) / os.readlink(hop), seen + 1
    try:
        mode = os.stat(target).st_mode
    except (OSError, ValueError):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        return "refused"
    return "file"


@contextlib.contextmanager
def _write_through(target: Path) -> Iterator[Path]:
    """A temporary file (in the system's temporary folder: a device's folder is seldom ours to
    write) whose bytes are appended to ``target`` once the body has written them all (append:
    a descriptor redirected to a file, ``>> log``, keeps what it holds)."""
    fd, tmp = tempfile.mkstemp(prefix=".superconverge.", suffix=target.suffix)
    os.close(fd)
    try:
        try:
            yield Path(tmp)
        except OSError as exc:
            if _about(exc, Path(tmp)):
                raise _naming(exc, target) from exc
            raise
        try:
            with open(tmp, "rb") as src, open(target, "ab") as dst:
                shutil.copyfileobj(src, dst)
        except OSError as exc:
            raise _naming(exc, target) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """:func:`atomic_path` for several files written as one: a temporary path for each, all
    renamed onto their targets only once the body has written every one, so a failure leaves
    every target as it was (not a new plot beside an old table)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(p)) for p in paths]


# Errors of writing itself: a full disk or quota, a file too large, an I/O error. A writer
# (matplotlib, a stream's flush) raises them without a file name.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _about(exc: OSError, tmp: Path) -> bool:
    """Whether ``exc``, raised while the caller wrote, is about the temporary file ``tmp``: it
    names it, or an :func:`atomic_path` inside wrote onto it, or it is a write error that
    names no file (the disk filled up under the writer)."""
    if getattr(exc, "filename", None) in (tmp, str(tmp)):
        return True
    named = getattr(exc, "_superconverge_target", None)
    if named is not None:
        return named == tmp
    return exc.filename is None and exc.errno in _WRITE_ERRNOS


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` (same type) saying it is about ``target``, not about our temporary file; ``exc``
    itself when its type cannot be built that way."""
    reason = getattr(exc, "_superconverge_reason", None) or exc.strerror or str(exc)
    try:
        if exc.errno is None:
            named = type(exc)(f"cannot write {target}: {reason}")
        else:
            named = type(exc)(exc.errno, f"cannot write {target}: {reason}")
    except Exception:  # an OSError subclass with another constructor
        return exc
    # For an atomic_path around this one (a file written onto another's temporary file).
    named._superconverge_target, named._superconverge_reason = target, reason  # type: ignore[attr-defined]
    return named


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
