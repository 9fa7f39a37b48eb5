"""On-disk cache for generated arrays (``~/.cache/superconverge``), written atomically.

Generated datasets (MNIST-1D) take a second or two to build; the cache makes later calls
instant. A corrupt or unreadable cache entry is logged and rebuilt, never trusted; an
unwritable cache directory is logged and skipped, never fatal.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from superconverge.atomic import not_a_file, write_bytes

__all__ = ["default_cache_dir", "load_cached_arrays", "save_cached_arrays"]

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/superconverge``, or ``~/.cache/superconverge`` when it is unset or
    relative (which the XDG spec says to ignore: a cache in every folder one runs from); where
    there is no home folder either (``HOME`` unset, a user with no passwd entry: a container
    run as ``--user``), a folder of this process's own in the temporary folder, made with
    ``tempfile.mkdtemp`` (a fixed name there another user could make first, a review), as
    matplotlib does: the cache then lasts the process."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):
        return Path(base) / "superconverge"
    home = os.path.expanduser("~")
    if os.path.isabs(home):
        return Path(home) / ".cache" / "superconverge"
    # (a bug bash: "~" came back as it was, and the cache went into a folder named "~" where
    # the command ran, logged as "cached arrays to ~/.cache/...", which reads as the home's)
    global _NO_HOME
    if _NO_HOME is None:
        _NO_HOME = Path(tempfile.mkdtemp(prefix="superconverge-cache-"))
        # (removed at exit, as matplotlib's: each process's was left behind, a review)
        atexit.register(shutil.rmtree, _NO_HOME, ignore_errors=True)
    return _NO_HOME


_NO_HOME: Path | None = None
"""The cache folder of a process with no home folder (:func:`default_cache_dir`)."""


def load_cached_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or ``None`` when missing or unreadable (logged)."""
    try:
        if not path.is_file():  # inside: a folder that cannot be entered raises here
            return None
        with path.open("rb") as f:
            if f.read(4) != b"PK\x03\x04":
                # (np.load's words for any file that is no array: "contains pickled (object)
                # data ... load it unsafely", advice no cache should take; a user's bug bash)
                raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception as err:  # any failure means "rebuild", whatever the cause
        log.warning("ignoring unreadable cache file %s (%s); rebuilding it", path, err)
        return None


def save_cached_arrays(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write ``arrays`` to ``path`` as .npz, atomically (:func:`superconverge.atomic.write_bytes`:
    built in memory, then written whole; a process killed meanwhile leaves no temporary file
    in the cache, where nothing would ever remove it).

    Returns whether the file was written; failures (read-only directory, full disk) are
    logged as warnings because a missing cache only costs time.
    """
    built = io.BytesIO()
    np.savez(built, **arrays)  # type: ignore[arg-type]  # numpy stubs: **kwds
    if path.exists() and not path.is_file():
        # A stream there (a named pipe, a device) would be written into, and a pipe with no
        # reader waits for one for ever (a bug bash: find-lr hung); a cache is a file.
        log.warning("could not write cache file: %s; continuing without cache",
                    not_a_file(path, "a cache file").strerror)
        return False
    try:
        write_bytes(path, built.getvalue())
    except OSError as err:
        log.warning("could not write cache file %s (%s); continuing without cache", path, err)
        return False
    log.info("cached arrays to %s", path)  # (where a file appeared, said: a review)
    return True
