"""Write files whole or not at all: write a temporary file beside the target, then rename (a
stream such as ``/dev/stdout`` gets the finished file's bytes instead). Bytes already in memory
(:func:`write_bytes`, :func:`write_text`, :func:`save_figure`, and several files as one:
:func:`write_files`) go, on Linux, into a file with no name, linked into place once whole: a kill
as they are written leaves nothing behind."""

from __future__ import annotations

import contextlib
import errno
import functools
import gzip
import io
import os
import re
import secrets
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from superconverge import _signals


def file_path(path: str | os.PathLike[str]) -> Path:
    """``Path(path)``, where ``path`` names a file: one that ends with a separator
    (``results/``), or with ``.`` or ``..`` (:func:`folder_ending`), is an
    ``IsADirectoryError``, since ``Path`` drops the separator and the file written would be
    named as the folder was meant (a review: ``to_json("results/")`` wrote a file ``results``,
    and the next ``to_json("results/lr_find.json")`` failed on it)."""
    text = os.fsdecode(path)
    ending = folder_ending(text)
    if ending:
        raise IsADirectoryError(errno.EISDIR, f"cannot write {text}: it names a folder (it ends "
                                f"with {ending}); give a file name in it")
    return Path(path)


def folder_ending(text: str) -> str | None:
    """What at the end of the path ``text`` makes it name a folder: ``"a separator"``
    (``results/``), ``"'.'"`` or ``"'..'"`` (``results/.``: ``Path`` drops a last ``.``, so
    ``to_json("new/.")`` wrote a file named ``new``); ``None`` where it may name a file (and
    for the root, ``/``, which no write can replace)."""
    seps = tuple(s for s in (os.sep, os.altsep) if s)
    if not text.strip("".join(seps)):
        return None
    if text.endswith(seps):
        return "a separator"
    last = re.split("|".join(map(re.escape, seps)), text)[-1]
    return f"{last!r}" if last in (".", "..") else None


def name_suffix(name: str) -> str:
    """A file name's suffix, lower case; a name that is a suffix alone (".png", which pathlib
    calls a stem) is that suffix: the user means a PNG."""
    return (name if name.startswith(".") and name.count(".") == 1 else Path(name).suffix
            ).lower()


def not_a_file(path: Path, expected: str) -> OSError:
    """The error for a ``path`` to read that is no regular file, saying what it is instead:
    ``FileNotFoundError`` where nothing is there (a link's missing target named), else an
    ``OSError`` naming the loop of links, named pipe, device or socket (a bug bash: a named
    pipe's was "no such file"). ``expected``: what should have been there, for the message."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return OSError(errno.ELOOP, f"{path}: a link that leads back to itself, through "
                           f"links (expected {expected})")
        if os.path.islink(path):
            return FileNotFoundError(errno.ENOENT, f"{path}: a link to {os.readlink(path)}, "
                                     f"which does not exist (expected {expected})")
        return FileNotFoundError(errno.ENOENT, f"{path}: no such file (expected {expected})")
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "no regular file")
    return OSError(errno.EINVAL, f"{path}: {kind}, not a file (expected {expected})")


def check_writable(path: Path) -> None:
    """Raise what ``open(path, "w")`` would raise for the existing file ``path``, if anything
    (its errno and reason: write-protected, a read-only mount, an immutable file). Replacing a
    file by a rename needs only its folder's permission, so a chmod 444 file, or another
    user's, was replaced (a review). Asked with the effective ids, as ``open()`` does; where
    the answer is no, a write-only open (no truncation) says why."""
    effective = os.access in os.supports_effective_ids
    if os.access(path, os.W_OK, effective_ids=effective):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)))
    except PermissionError as exc:
        if exc.errno == errno.EACCES:
            raise PermissionError(errno.EACCES, "Permission denied (the file is "
                                  "write-protected)") from None
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path`` (a
    stream gets its bytes instead, below).

    On an exception the temporary file is removed and ``path`` is left as it was. The temporary
    name keeps the target's suffix, so writers that infer the format from it (matplotlib) work.
    A symbolic link stays a link: the file it points to is the one replaced. A file this process
    may not write (``chmod 444``, another user's) is refused, as ``open()`` would refuse it; one
    written over keeps its permissions (and owner and group, where the process may keep them).
    Another hard link to it keeps the old contents: the name is given a new file. A stream is
    written into, never replaced: a character device (``/dev/null``, a terminal), a named pipe,
    or an open file descriptor (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``, also where
    it is redirected to a file, whose bytes then follow what was written there before); its
    bytes go in once the body has written them all, from a temporary file in the system's
    temporary folder. A named pipe waits for its reader. A block device or a socket named by
    its own path is refused, and so is a path that ends with a separator, ``.`` or ``..``
    (``results/``: a folder, where ``Path`` would drop the separator and write a file named
    ``results``). A SIGTERM whose exception was lost (raised in a finalizer) keeps the file
    from being written, as one raised would. A SIGKILL, which no code sees, leaves the
    temporary file; :func:`write_bytes` leaves nothing where the system allows.
    """
    target = file_path(path)
    own = _descriptor(target)
    kind = _stream_kind(target, own)
    if kind == "refused":
        raise _naming(OSError(errno.EINVAL, "a block device or socket, not a file"), target)
    if kind in ("descriptor", "stream"):
        with _write_through(target, _own_fd(kind, own)) as through:
            yield through
        return
    shown = target  # errors name the path the user gave, not where a link leads
    try:
        target = _file_to_replace(target)
        prefix, suffix = _temporary_affixes(target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        except FileNotFoundError as exc:
            if target.parent.is_dir():  # /proc/version: no such file, said of one that is
                exc._superconverge_reason = (  # type: ignore[attr-defined]
                    f"no file can be made in its folder {target.parent}")
            raise
        os.close(fd)
    except OSError as exc:
        raise _naming(exc, shown) from exc
    writing = True  # the caller's body runs: only its errors about our temporary file are ours
    mark = _signals.lost()
    try:
        yield Path(tmp)
        writing = False
        _signals.raise_if_lost(mark)  # (a SIGTERM lost in a finalizer: the file is not kept)
        _give_permissions(tmp, target)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and (not writing or _about(exc, Path(tmp))):
            raise _naming(exc, shown) from exc
        raise


def _file_to_replace(target: Path) -> Path:
    """The file that writing ``target`` replaces: where a link leads. Refused as ``open()``
    would refuse it (a folder, a write-protected file); its folder is made."""
    if target.is_symlink():
        target = link_target(target)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder")
    if target.exists():
        check_writable(target)
    existing = nearest_existing(target.parent)
    if not existing.is_dir():  # mkdir would say "File exists"
        raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _give_permissions(file: str | int, target: Path) -> os.stat_result | None:
    """Give ``file`` (a path, or a descriptor where ``os.chmod`` takes one), about to replace
    ``target``, the permissions a plain ``open()`` would have left; returns ``target``'s
    status, None where it does not exist.

    A temporary file is created private (0600); a report written by us should read like any
    other file. A file written over keeps its own permissions, and its owner and group where
    this process may give them (root, as under sudo), as it would through ``open()`` (a
    review: a private 0600 file came back readable by all)."""
    try:
        old: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        old = None
    os.chmod(file, 0o666 & ~_umask() if old is None
             else stat.S_IMODE(old.st_mode) & 0o777)  # (not setuid and the like)
    if old is not None and hasattr(os, "chown"):
        with contextlib.suppress(OSError):  # (another owner than our own: root only)
            os.chown(file, old.st_uid, old.st_gid)
    return old


_UNNAMED = getattr(os, "O_TMPFILE", None)
"""Linux's flag that opens a file with no name in a folder (None elsewhere)."""


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``path``, as :func:`atomic_path` would; returns the path.

    Where the system allows (Linux, on a file system with ``O_TMPFILE``), the bytes go into a
    file that has no name, which is given one only once it is whole: a process killed as it
    writes (a SIGKILL, such as a notebook sends half a second after its interrupt) leaves
    nothing behind, where :func:`atomic_path` leaves its hidden temporary file. Elsewhere,
    :func:`atomic_path` writes it. A stream (``/dev/stdout``, a named pipe) gets the bytes as
    :func:`atomic_path` would give them, straight from memory."""
    if not _write_unnamed([(file_path(path), data)]):
        with atomic_path(path) as tmp:
            _write_into(tmp, data)
    return Path(path)


def write_files(files: Sequence[tuple[str | os.PathLike[str], bytes | str]]) -> list[Path]:
    """Write several files as one, each ``(path, data)`` as :func:`write_bytes` writes it (a
    ``str`` as :func:`write_text` encodes it); returns the paths.

    Every file's bytes are written before any file is put in place (a stream among them, such
    as ``/dev/stdout``, gets its bytes in its turn), so a failure as they are written (a full
    disk) leaves every file as it was, and a kill leaves nothing behind where the system allows
    files with no name. They are written, then put in place, in the order given: a file given
    before another is never newer than it. A failure as they are put in place (a rename the
    folder refuses, a stream's error) leaves those before it in place, as renames one after
    another would. Two processes writing the same files take turns (a lock on the first file's
    folder, where the system has one), so the files that stay are one writer's, not one's plot
    beside the other's table."""
    named = [(file_path(path), _encoded(data) if isinstance(data, str) else data)
             for path, data in files]
    with _turns([target for target, _ in named]):
        if _write_unnamed(named):
            return [target for target, _ in named]
        with contextlib.ExitStack() as stack:
            # entered last to first, so that the first is renamed into place first
            tmps = [stack.enter_context(atomic_path(t)) for t, _ in reversed(named)][::-1]
            for tmp, (target, data) in zip(tmps, named, strict=True):
                try:
                    _write_into(tmp, data)
                except OSError as exc:  # (named here: the innermost atomic_path, another
                    raise _naming(exc, target) from exc  # file's, takes a full disk as its own)
    return [target for target, _ in named]


def _write_unnamed(files: Sequence[tuple[Path, bytes]]) -> bool:
    """:func:`write_files` through files with no name: all the bytes written, then each file
    linked into place in turn (a stream given its bytes in its turn, from memory, on any
    system). False, with nothing written, where this system or file system cannot open one,
    or link the first, or where a path is a block device or socket (:func:`atomic_path` then
    writes them all, or says why not); a later file that cannot be linked (on another file
    system) is written through :func:`atomic_path` then, in its turn."""
    # (descriptor, the file it replaces, the path given, its bytes, and for a stream, no
    # descriptor of ours but maybe the process's own that it names)
    opened: list[tuple[int | None, Path, Path, bytes, int | None]] = []
    try:
        for shown, data in files:
            own = _descriptor(shown)
            kind = _stream_kind(shown, own)
            if kind == "refused":
                return False
            if kind != "file":
                opened.append((None, shown, shown, data, _own_fd(kind, own)))
                continue
            if _UNNAMED is None:
                return False
            try:
                target = _file_to_replace(shown)
            except OSError as exc:
                raise _naming(exc, shown) from exc
            try:
                fd = os.open(target.parent, _UNNAMED | os.O_WRONLY | os.O_CLOEXEC, 0o600)
            except OSError:  # (EOPNOTSUPP, EISDIR: a file system or kernel without it; or
                return False  # EACCES: atomic_path says the error, as it would have)
            opened.append((fd, target, shown, data, None))
        mark = _signals.lost()
        for unnamed, _, shown, data, _ in opened:
            if unnamed is None:
                continue  # (a stream: its bytes go in in its turn)
            try:
                _write_all(unnamed, data)
            except OSError as exc:
                raise _naming(exc, shown) from exc
        _signals.raise_if_lost(mark)  # (as atomic_path: a lost SIGTERM keeps them unwritten)
        for i, (unnamed, target, shown, data, own_fd) in enumerate(opened):
            if unnamed is None:
                _pour(shown, own_fd, data)
                continue
            try:
                old = _give_permissions(unnamed, target)
                if _link_into_place(unnamed, target, new=old is None):
                    continue
            except OSError as exc:
                raise _naming(exc, shown) from exc
            if i == 0:  # (nothing in place yet)
                return False
            for _, _, rest, rest_data, _ in opened[i:]:  # (from its bytes: a write-only
                with atomic_path(rest) as tmp:  # descriptor's file cannot be read back)
                    _write_into(tmp, rest_data)
            break
        return True
    finally:
        for unnamed, *_ in opened:
            if unnamed is not None:
                os.close(unnamed)  # (a file never linked goes with its descriptor)


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data`` written to the descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_into(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)``, through :func:`_write_all` as the files with no name are
    written."""
    with open(path, "wb") as f:
        _write_all(f.fileno(), data)


def _link_into_place(fd: int, target: Path, new: bool) -> bool:
    """Give the unnamed file open as ``fd`` the name ``target``: linked there at once where
    there is no such file, else linked beside it under a temporary name and renamed onto it
    (a link cannot replace a file), the one moment a kill could leave a file behind. False
    where the system cannot link it (no ``/proc``), nothing changed."""
    try:
        fds = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        # (linkat with AT_SYMLINK_FOLLOW, which os.link uses only given a folder's descriptor:
        # a plain link() of /proc/self/fd/N links the symbolic link itself, EXDEV)
        def link(name: Path) -> None:
            os.link(str(fd), name, src_dir_fd=fds, follow_symlinks=True)

        if new:
            try:
                link(target)
                return True
            except FileExistsError:  # made meanwhile: replaced, as a rename would
                pass
            except OSError:
                return False
        prefix, suffix = _temporary_affixes(target)
        for _ in range(100):
            tmp = target.parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
            try:
                link(tmp)
                break
            except FileExistsError:
                continue
            except OSError:
                return False
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name beside it")
        try:
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return True
    finally:
        os.close(fds)


_NAME_MAX = 255
"""The longest file name, in bytes, of the common file systems (ext4, XFS, APFS, NTFS)."""


def _temporary_affixes(target: Path) -> tuple[str, str]:
    """The prefix and suffix of the temporary name beside ``target``, ``.{stem}.XXXXXXXX{suffix}``
    (the suffix kept for writers that infer the format from it), with the stem cut so that the
    name is no longer than ``target``'s could be: a name of 246-255 bytes was refused ("File
    name too long") only because of the temporary one. A suffix too long to keep goes too."""
    suffix = target.suffix
    if len(os.fsencode(f"..XXXXXXXX{suffix}")) > _NAME_MAX:
        suffix = ""
    room = _NAME_MAX - len(os.fsencode(f"..XXXXXXXX{suffix}"))
    stem = target.stem
    while stem and len(os.fsencode(stem)) > room:  # by characters: none cut in half
        stem = stem[:-1]
    return f".{stem}.", suffix


def link_target(link: Path) -> Path:
    """Where the symbolic link ``link`` leads, a file to be written (it may not exist yet).
    ``OSError`` for a loop of links, and ``FileNotFoundError`` where the folder it leads into
    does not exist: the folders of the path the user gave are made, but not those of wherever a
    link points (a review: writing through a link to /nonexistent/x made /nonexistent)."""
    target = Path(os.path.realpath(link))
    if target.is_symlink():  # a loop: realpath hands back a link it could not follow
        raise OSError(errno.ELOOP, f"{link} is a link that leads back to itself (too many "
                      "levels of symbolic links)")
    folder = target.parent
    if not folder.is_dir():
        nearest_existing(folder)  # a loop of links or a dangling one on the way: named
        to = os.readlink(link)
        # through another link (or a folder link on the way): where it ends too
        said = to if Path(os.path.abspath(link.parent / to)) == target else (
            f"{to}, which leads to {target}")
        if folder.exists():
            raise NotADirectoryError(
                errno.ENOTDIR, f"{link} is a link to {said}, inside {folder}, which is a file, "
                "not a folder")
        raise FileNotFoundError(
            errno.ENOENT, f"{link} is a link to {said}, whose folder {folder} does not exist")
    return target


def nearest_existing(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists: where ``mkdir(parents=True)``
    would start. A link on the way whose target does not exist raises ``FileNotFoundError``
    naming it (``mkdir`` would say "File exists" of it, after the work was done)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            try:
                os.stat(existing)
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a loop of links, not a missing target
                    raise OSError(errno.ELOOP, f"{existing} is a link that leads back to "
                                  "itself (too many levels of symbolic links)") from None
            raise FileNotFoundError(
                errno.ENOENT, f"{existing} is a link to {os.readlink(existing)}, which does not "
                "exist")
        existing = existing.parent
    return existing


_FD_FOLDER = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd")


def _descriptor(target: Path) -> tuple[int, int] | None:
    """``(pid, fd)`` when ``target``, its links followed one by one from their real folders,
    names an open file descriptor (``/dev/stdout``, ``/dev/fd/1``, ``/proc/self/fd/1``, or any
    link or linked folder that leads there); None otherwise."""
    hop = os.path.abspath(target)
    for _ in range(41):
        folder = os.path.realpath(os.path.dirname(hop))
        name = os.path.basename(hop)
        found = _FD_FOLDER.fullmatch(folder)
        if found and name.isdigit():
            return int(found.group(1)), int(name)
        if not os.path.islink(hop):
            return None
        hop = os.path.abspath(os.path.join(folder, os.readlink(hop)))
    return None


def _stream_kind(target: Path, own: tuple[int, int] | None) -> str:
    """"descriptor" for an open file descriptor (``own``, from :func:`_descriptor`, whatever
    it is redirected to), "stream" for a character device or a named pipe (written into),
    "refused" for a block device or socket, "file" otherwise."""
    if own is not None:
        return "descriptor" if os.path.exists(target) else "file"
    try:
        mode = os.stat(target).st_mode
    except (OSError, ValueError):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        return "refused"
    return "file"


def _own_fd(kind: str, own: tuple[int, int] | None) -> int | None:
    """The descriptor of this process that a stream of ``kind`` names (``own``, from
    :func:`_descriptor`), through which it is written; None for any other stream."""
    return own[1] if kind == "descriptor" and own and own[0] == os.getpid() else None


def _pour(target: Path, own_fd: int | None, data: bytes) -> None:
    """``data`` written into the stream ``target``: through ``own_fd``, this process's own
    descriptor that ``target`` names, at its current position (after what Python's stdout and
    stderr hold unwritten), else appended (another process's descriptor, a device, a pipe)."""
    try:
        if own_fd is not None:
            _flush_std()
            _write_all(own_fd, data)
        else:
            with open(target, "ab") as dst:
                _write_all(dst.fileno(), data)
    except OSError as exc:
        raise _naming(exc, target) from exc


def is_stream(path: str | os.PathLike[str]) -> bool:
    """Whether :func:`atomic_path` writes into ``path`` rather than replacing it: a descriptor
    such as ``/dev/stdout``, a character device, a named pipe."""
    target = Path(path)
    return _stream_kind(target, _descriptor(target)) in ("descriptor", "stream")


@contextlib.contextmanager
def _write_through(target: Path, own_fd: int | None) -> Iterator[Path]:
    """A temporary file (in the system's temporary folder: a device's folder is seldom ours to
    write) whose bytes go into ``target`` once the body has written them all: through
    ``own_fd``, this process's own descriptor that ``target`` names, if any (so the bytes land
    where its next writes would, as a shell's ``>`` or ``>>`` expects), else appended (another
    process's descriptor, a device, a pipe)."""
    fd, tmp = tempfile.mkstemp(prefix=".superconverge.", suffix=target.suffix)
    os.close(fd)
    mark = _signals.lost()
    try:
        try:
            yield Path(tmp)
        except OSError as exc:
            if _about(exc, Path(tmp)):
                raise _naming(exc, target) from exc
            raise
        _signals.raise_if_lost(mark)  # (as atomic_path: nothing goes in)
        try:
            data = Path(tmp).read_bytes()
        except OSError as exc:
            raise _naming(exc, target) from exc
        _pour(target, own_fd, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _flush_std() -> None:
    """What Python's own stdout and stderr hold unwritten, written (a stream that cannot be
    flushed is left as it is)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def _turns(paths: Sequence[str | os.PathLike[str]]) -> Iterator[None]:
    """The body, run by one process at a time for files written as one: a lock on the first
    file's folder (:func:`_folder_lock`), made first where it is not there yet."""
    if not paths:
        yield
        return
    folder = Path(paths[0]).parent
    if not folder.exists() and not folder.is_symlink():
        # Made first, as atomic_path would make it: a folder not there yet has no lock, and
        # two first runs into it overlapped (a review). An error is said by the write.
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(folder):
        yield


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` for the body, from one process at a time; nothing
    where there is none (Windows, a file system without locks, a folder not there yet)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # ENOLCK, EOPNOTSUPP: a file system without locks
            pass
        yield
    finally:
        os.close(fd)  # (closing the descriptor releases the lock)


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


_P = ParamSpec("_P")
_R = TypeVar("_R")
_DRAWING = threading.RLock()


def drawing(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run by one thread at a time in this process, as all of our plotting is:
    matplotlib's text layout (its mathtext parser) is not thread-safe, and plots drawn in two
    threads at once failed with "ParseException" or "Unknown symbol: \\mathdefault" (a user's
    bug bash: 35 of 40 plots in four threads)."""

    @functools.wraps(function)
    def one_at_a_time(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _DRAWING:
            return function(*args, **kwargs)

    return one_at_a_time


def new_figure(figsize: tuple[float, float], dpi: float) -> Any:
    """A matplotlib ``Figure`` that lays itself out only when told (``tight_layout()``), whatever
    the user's matplotlibrc says: under ``figure.constrained_layout.use: True`` each of our
    plots warned "The figure layout has changed to tight" (a user's bug bash)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"figure.constrained_layout.use": False,
                                "figure.autolayout": False}):
        return Figure(figsize=figsize, dpi=dpi)


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Atomically save a matplotlib ``fig`` to ``path`` in the format of its suffix (none:
    PNG); an unknown suffix is a ``ValueError`` naming the path. Drawn in memory, then written
    by :func:`write_bytes`: a kill as it writes leaves no temporary file."""
    path = file_path(path)
    supported = fig.canvas.get_supported_filetypes()
    # A name that is a format's suffix alone (".svg") is that format, as the commands read it
    # (a review: plot and schedule wrote PNG bytes to it); another (".config") has none
    named = name_suffix(path.name).lstrip(".")
    fmt = named if named in supported else path.suffix.lstrip(".").lower() or "png"
    if fmt not in supported:
        raise ValueError(
            f"cannot plot to {path}: matplotlib writes {', '.join(sorted(supported))}, "
            f"not {fmt!r}"
        )
    drawn = io.BytesIO()
    # The same figure, the same bytes (a bug bash: an SVG or PDF drawn again from the same
    # lr_find.json differed, by its date and, in an SVG, its random ids; a PNG did not): no
    # date, and the SVG's ids made from a fixed salt. PostScript takes its date only from
    # SOURCE_DATE_EPOCH: its line goes (a comment); an .svgz is gzipped here, with no time.
    import matplotlib

    drawn_as = "svg" if fmt == "svgz" else fmt
    undated = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}
    with matplotlib.rc_context({"svg.hashsalt": "superconverge"}):
        # At the figure's own dpi (the plot's dpi=): a matplotlibrc's savefig.dpi would
        # otherwise win over it, and the layout was measured at the figure's.
        # (metadata= to those two alone: the PGF writer takes no such argument, a review)
        fig.savefig(drawn, format=drawn_as, dpi="figure",
                    **({"metadata": undated[drawn_as]} if drawn_as in undated else {}))
    data = drawn.getvalue()
    if fmt in ("ps", "eps"):
        data = re.sub(rb"^%%CreationDate: [^\n]*\n", b"", data, count=1, flags=re.M)
    elif fmt == "svgz":
        data = gzip.compress(data, mtime=0)
    write_bytes(path, data)
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text`` (UTF-8, a newline as the system writes one) to ``path``, as
    :func:`write_bytes` writes; returns the path."""
    return write_bytes(path, _encoded(text))


def _encoded(text: str) -> bytes:
    """``text`` as :func:`write_text` writes it: UTF-8, a newline as the system writes one."""
    return text.replace("\n", os.linesep).encode("utf-8")


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` in a line: an OSError's as "file: reason" (or the reason), without
    its "[Errno N]"; any other's as ``str(exc)``."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
