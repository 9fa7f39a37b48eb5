"""Shared test settings and fixtures."""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest
import torch

# One intra-op thread: on a 2-core machine, torch's thread pool fighting with anything else
# running makes small-model steps 10-100x slower, and results do not depend on thread count.
torch.set_num_threads(1)


@pytest.fixture
def nameless_files(tmp_path) -> None:
    """Skips the test where ``tmp_path``'s file system cannot open a file with no name (Linux's
    ``O_TMPFILE``), through which ``atomic.write_bytes`` writes where it can."""
    flag = getattr(os, "O_TMPFILE", None)
    try:
        if flag is None:
            raise OSError("no O_TMPFILE on this system")
        os.close(os.open(tmp_path, flag | os.O_WRONLY, 0o600))
    except OSError as exc:
        pytest.skip(f"no file without a name here: {exc}")


@pytest.fixture
def killed_as_it_writes() -> str:
    """The start of a child's ``python -c`` script: its ``os.write``, given bytes that begin
    with the mark (in hex, the script's last argument), writes half of them and SIGKILLs the
    process, as a notebook's interrupt may as a file is written."""
    return """
import os, signal, sys
mark = bytes.fromhex(sys.argv[-1])
real = os.write
def write(fd, data):
    if bytes(data[:len(mark)]) == mark:  # half of it written, then killed
        real(fd, data[:len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real(fd, data)
os.write = write
"""


@pytest.fixture
def users_folder() -> Iterator[tuple[str, Callable[[str, str], str]]]:
    """A folder in /tmp (tmp_path's parents are private to root) owned by a user with no
    rights here, uid 65534 where the tests run as root, and ``protect(name, text)``, which
    makes a read-only file of theirs in it and returns its path. Removed afterwards."""
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX permissions")
    folder = tempfile.mkdtemp(dir="/tmp")
    as_root = os.getuid() == 0
    os.chmod(folder, 0o777)
    if as_root:
        os.chown(folder, 65534, 65534)

    def protect(name: str, text: str) -> str:
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o444)
        if as_root:
            os.chown(path, 65534, 65534)
        return path

    try:
        yield folder, protect
    finally:
        shutil.rmtree(folder)
