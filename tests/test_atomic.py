"""Files are written whole or not at all, and a failure names the file the user asked for."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import re
import stat
import sys
import threading

import pytest

from superconverge import atomic
from superconverge.finder import RangeTestResult

find_lr_module = importlib.import_module("superconverge.recipes.find_lr")


@pytest.fixture(params=["unnamed", "named"])
def route(request, monkeypatch, tmp_path) -> str:
    """write_bytes and write_text both ways: through a file with no name, linked into place
    (atomic_path, called, fails the test), and through atomic_path's named temporary file (as
    on a system or file system without O_TMPFILE)."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_UNNAMED", None)
    else:
        request.getfixturevalue("nameless_files")  # (skips where there are none)
        _no_falling_back(monkeypatch)
    return request.param


def _no_falling_back(monkeypatch) -> None:
    """write_bytes calling atomic_path (a nameless file it could not write) fails the test."""
    def fell_back(path):
        raise AssertionError(f"{path} was written through atomic_path")

    monkeypatch.setattr(atomic, "atomic_path", fell_back)


def disk_full() -> OSError:
    # What a writer (matplotlib, a stream's flush) raises when the disk fills: no file name.
    return OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_target_and_leaves_it_as_it_was(tmp_path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(OSError, match=f"cannot write {target}: No space left on device"), \
            atomic.atomic_path(target) as tmp:
        tmp.write_text("new, half")
        raise disk_full()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_file_written_onto_anothers_temporary_file_is_named_by_the_outer_target(tmp_path):
    target = tmp_path / "plot.png"
    with pytest.raises(OSError) as info, atomic.atomic_path(target) as tmp, \
            atomic.atomic_path(tmp):
        raise disk_full()
    said = f"[Errno {errno.ENOSPC}] cannot write {target}: No space left on device"
    assert str(info.value) == said
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_takes_no_new_files_is_named(tmp_path, monkeypatch) -> None:
    """A user's bug bash: --out /proc/version, whose folder refuses a new file with ENOENT,
    was "cannot write /proc/version: No such file or directory", of a file that is there."""
    import tempfile

    def no_new_files(**kwargs):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", kwargs["dir"])

    monkeypatch.setattr(tempfile, "mkstemp", no_new_files)
    monkeypatch.setattr(atomic, "_UNNAMED", None)  # (as on /proc, whose O_TMPFILE fails)
    target = tmp_path / "version"
    target.write_text("there\n")
    with pytest.raises(FileNotFoundError, match=f"cannot write {target}: no file can be made in "
                       f"its folder {tmp_path}$"):
        atomic.write_text(target, "new\n")
    gone = tmp_path / "gone" / "x.csv"  # a folder that is not there is what ENOENT says
    monkeypatch.setattr(atomic, "_file_to_replace", lambda t: t)
    with pytest.raises(FileNotFoundError, match=f"cannot write {gone}: No such file"):
        atomic.write_text(gone, "new\n")
    if os.path.isfile("/proc/version") and os.geteuid() == 0:  # (a user is refused before)
        monkeypatch.undo()
        with pytest.raises(OSError, match=r"cannot write /proc/version: no file can be made in "
                           r"its folder /proc$"):
            atomic.write_text("/proc/version", "x\n")


def test_a_folder_that_is_a_file_is_named(tmp_path, route) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"afile is a file, not a folder"):
        atomic.write_text(tmp_path / "afile" / "sub" / "x.csv", "1\n")


@pytest.mark.parametrize("fails", ["lr_find.json", "lr_find.png"])
def test_find_lr_leaves_the_old_plot_and_json_when_either_cannot_be_written(
        tmp_path, monkeypatch, route, fails) -> None:
    """The plot used to be renamed into place first: a full disk then left a new plot beside
    the old JSON. Both are written before either is put in place, the JSON first. Where the
    plot's write fails, the JSON is written alone and the old plot goes (the curve was lost
    with the plot: a user's bug bash); where the JSON's fails, the old pair stays."""
    lrs = [10 ** (-4 + i / 10) for i in range(30)]
    losses = [2.0 - i / 20 for i in range(20)] + [1.0 + i for i in range(10)]
    res = RangeTestResult(lrs=tuple(lrs), losses=tuple(losses), smoothed=tuple(losses),
                          stop_reason="diverged", num_iter=30)
    (tmp_path / "lr_find.png").write_bytes(b"old plot")
    (tmp_path / "lr_find.json").write_text("old json")
    real, written = os.write, []

    def full(fd, data):  # (the disk fills as the one file's bytes go in)
        written.append(bytes(data[:4]))
        if bytes(data[:1]) == {"lr_find.json": b"{", "lr_find.png": b"\x89"}[fails]:
            raise disk_full()
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match=f"cannot write .*{fails}: No space left"):
        find_lr_module._write(res, tmp_path, "default")
    if fails == "lr_find.json":
        assert (tmp_path / "lr_find.png").read_bytes() == b"old plot"
        assert (tmp_path / "lr_find.json").read_text() == "old json"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.json", "lr_find.png"]
    else:
        assert RangeTestResult.from_json(tmp_path / "lr_find.json").lrs == res.lrs
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.json"]
    # the JSON's bytes went in first (a plot older than its JSON is an older run's), and then
    # the JSON alone was tried
    assert [w[:1] for w in written] == [b"{"] + (
        [b"\x89"] if fails == "lr_find.png" else []) + [b"{"]
    monkeypatch.setattr(os, "write", real)
    find_lr_module._write(res, tmp_path, "default")
    assert RangeTestResult.from_json(tmp_path / "lr_find.json").lrs == res.lrs
    assert (tmp_path / "lr_find.png").read_bytes()[:4] == b"\x89PNG"


def test_a_symbolic_link_stays_a_link_to_the_new_contents(tmp_path, route) -> None:
    """--out link.csv used to replace the link by a file, leaving its target as it was."""
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    atomic.write_text(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    dangling = tmp_path / "to-be.csv"
    (tmp_path / "dangling.csv").symlink_to(dangling)
    atomic.write_text(tmp_path / "dangling.csv", "made\n")
    assert (tmp_path / "dangling.csv").is_symlink() and dangling.read_text() == "made\n"
    # a dangling link above the file: mkdir said "File exists" of it
    (tmp_path / "gone").symlink_to("nowhere")
    with pytest.raises(FileNotFoundError, match=r"gone is a link to nowhere, which does not "):
        atomic.write_text(tmp_path / "gone" / "deeper" / "s.csv", "x\n")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_file_written_over_keeps_its_permissions(tmp_path, route) -> None:
    """A review: a private (0600) file written over came back 0644, readable by all, and a
    read-only one writable; a new file gets what open() gives it (0666 less the umask)."""
    def mode(p: os.PathLike[str]) -> int:
        return stat.S_IMODE(os.stat(p).st_mode)

    root = getattr(os, "getuid", lambda: -1)() == 0  # (a user's 0444 file is refused: below)
    for kept in (0o600, 0o640, *((0o444,) if root else ())):
        path = tmp_path / f"{kept:o}.csv"
        path.write_text("old\n")
        os.chmod(path, kept)
        atomic.write_text(path, "new\n")
        assert path.read_text() == "new\n" and mode(path) == kept
    link = tmp_path / "link.csv"  # through a link: the file it leads to keeps its own
    link.symlink_to(tmp_path / "600.csv")
    atomic.write_text(link, "again\n")
    assert mode(tmp_path / "600.csv") == 0o600
    old = os.umask(0o027)
    try:
        atomic.write_text(tmp_path / "fresh.csv", "x\n")
    finally:
        os.umask(old)
    assert mode(tmp_path / "fresh.csv") == 0o640


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_written_into_not_replaced(tmp_path) -> None:
    """A FIFO (like /dev/null or /dev/stdout: no regular file) gets the bytes; it used to be
    replaced by a regular file (as root, `--out /dev/null` replaced the device)."""
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    atomic.write_text(fifo, "step,lr\n0,0.1\n")
    reader.join(timeout=10)
    assert got == ["step,lr\n0,0.1\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/fd"),
                    reason="no named pipes or /dev/fd here")
def test_bytes_in_memory_go_into_a_stream_with_no_temporary_file(tmp_path, monkeypatch,
                                                                 route) -> None:
    """write_bytes and write_text gave a stream its bytes through a temporary file in the
    system's temporary folder, which a kill left there; they go in from memory now: into a
    descriptor of this process's, and appended to a named pipe (also on a system without files
    with no name)."""
    import tempfile

    def no_temporary(*args, **kwargs):
        raise AssertionError("a temporary file was made")

    monkeypatch.setattr(tempfile, "mkstemp", no_temporary)
    read, write = os.pipe()
    try:
        atomic.write_text(f"/dev/fd/{write}", "step,lr\n")
        assert os.read(read, 100) == b"step,lr\n"
    finally:
        os.close(read)
        os.close(write)
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    atomic.write_bytes(fifo, b"\x89PNG")
    reader.join(timeout=10)
    assert got == [b"\x89PNG"]



@pytest.mark.skipif(not os.path.exists("/proc/self/fd/1"), reason="no /proc/self/fd here")
@pytest.mark.parametrize("mode", ["w", "a"], ids=[">", ">>"])
@pytest.mark.parametrize("path", ["/dev/fd/1", "//dev/fd/1", "myfd/1", "/proc/self/fd/1"])
@pytest.mark.parametrize("how", ["write_text", "atomic_path"])
def test_stdout_redirected_to_a_file_gets_the_bytes_in_place(tmp_path, mode, path, how) -> None:
    """`--out /dev/fd/1 >> log`: the link led to the log file, which was replaced, losing what
    it held and what came after; under `>` the bytes must land where stdout's next write would
    (a reopened file wrote at 0, under what came after), after what Python's stdout holds
    unwritten. Also through a linked folder."""
    import subprocess
    import sys

    (tmp_path / "myfd").symlink_to("/proc/self/fd")
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    write = (f"atomic.write_text({path!r}, 'step,lr\\n')\n" if how == "write_text" else
             f"with atomic.atomic_path({path!r}) as t:\n    t.write_text('step,lr\\n')\n")
    code = ("from superconverge import atomic\nprint('header')\n"  # (unflushed: a file)
            f"{write}print('after', flush=True)\n")
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open(log, mode) as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True, timeout=60,
                       cwd=tmp_path, env=buffered)
    kept = "before\n" if mode == "a" else ""
    assert log.read_text() == kept + "header\nstep,lr\nafter\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt", "myfd"]


def test_a_socket_is_refused_and_errors_name_the_path_given(tmp_path) -> None:
    import socket

    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "link").symlink_to(folder)
    with pytest.raises(IsADirectoryError, match=f"cannot write {tmp_path / 'link'}: it is a"):
        atomic.write_text(tmp_path / "link", "x")
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets here")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        # Refused before anything runs (the first fix opened it; the old code replaced it).
        with pytest.raises(OSError, match="a block device or socket, not a file"):
            with atomic.atomic_path(tmp_path / "sock"):
                raise AssertionError("the body must not run")
        assert stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode)
    finally:
        server.close()


def test_another_hard_link_to_a_file_written_over_keeps_the_old_contents(tmp_path, route):
    """As documented: the name is given a new file, as a rename gives it."""
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    os.link(target, tmp_path / "other.csv")
    atomic.write_text(target, "new\n")
    assert target.read_text() == "new\n" and (tmp_path / "other.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.csv", "t.csv"]


def test_a_name_whose_suffix_is_most_of_it_is_written(tmp_path, route) -> None:
    """The stem was cut to nothing and the temporary name was still too long: the suffix goes
    too where it alone leaves no room."""
    target = tmp_path / ("x." + "y" * 250)
    atomic.write_text(target, "hi\n")
    assert target.read_text() == "hi\n" and [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_writers_of_the_same_files_take_turns(tmp_path) -> None:
    """Two find-lr runs into one --out could leave one's plot beside the other's table: each
    pair is put in place under a lock on the folder now, one writer at a time."""
    import fcntl
    import time

    def write(tag: str) -> None:
        atomic.write_files([(tmp_path / "a.txt", tag), (tmp_path / "b.txt", tag)])

    held = os.open(tmp_path, os.O_RDONLY)  # another writer, inside its turn
    fcntl.flock(held, fcntl.LOCK_EX)
    writer = threading.Thread(target=write, args=("second",))
    writer.start()
    time.sleep(0.3)
    assert not (tmp_path / "a.txt").exists() and writer.is_alive()  # it waits for its turn
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "b.txt").write_text("first")
    os.close(held)  # the first writer's turn ends
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text() == "second"


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_writers_into_a_folder_not_there_yet_take_turns_too(tmp_path, monkeypatch) -> None:
    """A review: the lock is on the folder, which the first writer made only after looking for
    it: two first runs into a new --out overlapped (B in 0.2 s after A, inside its turn)."""
    import time

    folder = tmp_path / "new" / "run"
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []
    writes = atomic._write_unnamed

    def held(files):  # inside the writer's turn: the first waits there
        tag = bytes(files[0][1]).decode()
        order.append(tag)
        if tag == "first":
            inside.set()
            release.wait(30)
        return writes(files)

    monkeypatch.setattr(atomic, "_write_unnamed", held)

    def write(tag: str) -> None:
        atomic.write_files([(folder / "a.txt", tag), (folder / "b.txt", tag)])

    first = threading.Thread(target=write, args=("first",))
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=write, args=("second",))
    second.start()
    try:
        time.sleep(0.3)
        assert order == ["first"]  # the second waits for its turn
    finally:
        release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert order == ["first", "second"]
    assert (folder / "a.txt").read_text() == (folder / "b.txt").read_text() == "second"


@pytest.mark.parametrize("name", ["a" * 248 + ".csv", "é" * 124 + ".csv"], ids=["ascii", "utf8"])
def test_a_name_of_most_of_the_allowed_bytes_is_written(tmp_path, name, route) -> None:
    """252 bytes is a legal name, but the temporary one beside it would be 262: its stem is
    cut (by characters, none cut in half) to fit."""
    target = tmp_path / name
    atomic.write_text(target, "hi\n")
    assert target.read_text() == "hi\n" and [p.name for p in tmp_path.iterdir()] == [name]


def test_an_error_about_the_temporary_file_names_the_target(tmp_path) -> None:
    target = tmp_path / "t.csv"
    with pytest.raises(FileExistsError, match=f"cannot write {target}: File exists"), \
            atomic.atomic_path(target) as tmp:
        open(tmp, "x")  # a writer that creates its file exclusively
    with pytest.raises(OSError, match=f"^cannot write {target}: truncated$"), \
            atomic.atomic_path(target) as tmp:
        raise OSError(None, "truncated", str(tmp))  # no errno, but the temporary file's name
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_device_is_named(tmp_path) -> None:
    with pytest.raises(OSError, match="cannot write /dev/full: No space left on device"):
        atomic.write_text("/dev/full", "step,lr\n")


def test_a_stream_written_into_names_itself_when_the_writer_fails() -> None:
    with pytest.raises(OSError, match="cannot write /dev/null: No space left on device"), \
            atomic.atomic_path("/dev/null") as tmp:
        tmp.write_text("half")
        raise disk_full()
    elsewhere = FileNotFoundError(errno.ENOENT, "No such file or directory", "/elsewhere")
    with pytest.raises(FileNotFoundError) as info, atomic.atomic_path("/dev/null"):
        raise elsewhere  # not about the file being written: as it was
    assert info.value is elsewhere


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="no /proc/self/fd here")
def test_a_descriptor_that_is_not_open_is_named(tmp_path) -> None:
    closed = os.open(tmp_path, os.O_RDONLY)
    os.close(closed)  # a number no file has now
    with pytest.raises(FileNotFoundError, match=f"cannot write /proc/self/fd/{closed}: "):
        atomic.write_text(f"/proc/self/fd/{closed}", "x\n")


def test_a_link_that_leads_to_itself_is_refused_and_kept(tmp_path) -> None:
    """`echo > loop` says "Too many levels of symbolic links"; atomic_path replaced the link
    by a regular file."""
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    with pytest.raises(OSError, match=f"cannot write {loop}: {loop} is a link that leads back to "
                                      r"itself \(too many levels of symbolic links\)"):
        atomic.write_text(loop, "x\n")
    assert loop.is_symlink() and os.readlink(loop) == "loop"
    assert [p.name for p in tmp_path.iterdir()] == ["loop"]


def test_a_loop_of_links_in_the_folder_part_is_named_as_a_loop(tmp_path) -> None:
    """It said the link's target "does not exist"; the shell says "Too many levels"."""
    (tmp_path / "L").symlink_to("L")
    (tmp_path / "a").symlink_to("L/file")
    for path in (tmp_path / "a", tmp_path / "L" / "file"):
        with pytest.raises(OSError, match=f"{tmp_path / 'L'} is a link that leads back to "
                                          r"itself \(too many levels of symbolic links\)"):
            atomic.write_text(path, "x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["L", "a"]


def test_a_link_into_a_missing_folder_is_refused_not_made(tmp_path) -> None:
    """A review: writing through a link to /nonexistent/x made the folder /nonexistent. The
    folders of the path given are made (--out runs/new/s.csv); those a link points into are
    not: the write is refused, naming the link, and nothing is made."""
    link = tmp_path / "s.csv"
    link.symlink_to(tmp_path / "nowhere" / "deep" / "s.csv")
    with pytest.raises(FileNotFoundError, match=(
            rf"cannot write {link}: {link} is a link to {tmp_path / 'nowhere'}/deep/s.csv, "
            rf"whose folder {tmp_path / 'nowhere'}/deep does not exist")):
        atomic.write_text(link, "x\n")
    assert not (tmp_path / "nowhere").exists() and link.is_symlink()
    atomic.write_text(tmp_path / "runs" / "new" / "s.csv", "x\n")  # the user's own path
    assert (tmp_path / "runs" / "new" / "s.csv").read_text() == "x\n"
    # through a second link: where the chain ends is named too (a review: the folder named
    # seemed to be the first link's target's)
    (tmp_path / "b").symlink_to(tmp_path / "missing" / "x.csv")
    (tmp_path / "a.csv").symlink_to("b")
    with pytest.raises(FileNotFoundError, match=(
            rf"{tmp_path / 'a.csv'} is a link to b, which leads to {tmp_path / 'missing'}/x.csv, "
            rf"whose folder {tmp_path / 'missing'} does not exist")):
        atomic.write_text(tmp_path / "a.csv", "x\n")
    (tmp_path / "f.txt").write_text("a file\n")
    (tmp_path / "in-file.csv").symlink_to(tmp_path / "f.txt" / "s.csv")
    with pytest.raises(NotADirectoryError, match=f"inside {tmp_path / 'f.txt'}, which is a file"):
        atomic.write_text(tmp_path / "in-file.csv", "x\n")


_AS_ANOTHER_USER = r"""
import os, sys
from superconverge import atomic  # (first: the user below may not read the checkout)
if os.getuid() == 0:  # (as root every file may be written: act as a user with no rights here)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
try:
    atomic.write_text(sys.argv[1], "new\n")
except PermissionError as exc:
    print("refused:", exc)
"""


def test_a_write_protected_file_is_refused_as_open_would_refuse_it(users_folder) -> None:
    """A review: the rename needs only the folder's permission, so a read-only file (or
    another user's, in one's own folder) was replaced, "wrote keep.csv", exit 0, where open()
    and the shell's > refuse it. As root (sudo), a file written over keeps its owner."""
    import subprocess

    folder, protect = users_folder
    keep = protect("keep.csv", "precious\n")
    out = subprocess.run([sys.executable, "-c", _AS_ANOTHER_USER, keep], text=True,
                         capture_output=True, check=True).stdout
    assert out == (f"refused: [Errno 13] cannot write {keep}: Permission denied (the file "
                   "is write-protected)\n"), out
    with open(keep) as f:
        assert f.read() == "precious\n"
    assert sorted(os.listdir(folder)) == ["keep.csv"]  # no temporary file left
    if os.getuid() == 0:  # written over as root: the file keeps its owner and mode
        atomic.write_text(keep, "by root\n")
        st = os.stat(keep)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o444)


class _StopInAFinalizer:
    """Sends this process a SIGTERM as it is collected: its handler runs inside ``__del__``,
    where Python drops what it raises ("Exception ignored in ...")."""

    def __del__(self) -> None:
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # (the handler runs between two of these)
            pass


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_a_sigterm_lost_in_a_finalizer_still_stops_the_write(tmp_path, capsys) -> None:
    """Seen once in a test run: a SIGTERM during ``schedule --out big.png`` came inside a
    finalizer (the test's stderr read "Exception ignored ... Terminated: SIGTERM"); Python
    dropped its exception and the process went on to exit 0. Now the write is
    not kept, the stop is raised as the body ends, and the dropped one prints no traceback."""
    from superconverge._signals import Terminated, sigterm_as_interrupt

    hook = sys.unraisablehook
    with pytest.raises(Terminated, match="SIGTERM"), sigterm_as_interrupt():
        with atomic.atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
            _StopInAFinalizer()  # (collected at once)
    assert list(tmp_path.iterdir()) == []
    read, write = os.pipe()  # (a stream, written through: nothing goes in)
    try:
        with pytest.raises(Terminated, match="SIGTERM"), sigterm_as_interrupt():
            with atomic.atomic_path(f"/dev/fd/{write}") as tmp:
                tmp.write_text("x")
                _StopInAFinalizer()
        os.close(write)
        assert os.read(read, 10) == b""
    finally:
        os.close(read)
        with contextlib.suppress(OSError):
            os.close(write)
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is hook
    with pytest.raises(Terminated, match="SIGTERM"), sigterm_as_interrupt():
        _StopInAFinalizer()  # (no file: the stop is raised as the body ends)
    with sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), __import__("signal").SIGTERM)
            for _ in range(1000):
                pass
        except Terminated:  # (caught: no loss, as find-lr catches one to write the curve)
            atomic.write_text(tmp_path / "b.txt", "kept")
    assert (tmp_path / "b.txt").read_text() == "kept"


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_a_sigterm_as_its_handler_goes_in_leaves_no_handler_behind(monkeypatch) -> None:
    """sigterm_as_interrupt installed its handlers before its try: a SIGTERM just after the
    first went in raised out of it, and that handler stayed in for good (a later SIGTERM
    raised in whatever ran, where it should end the process)."""
    import signal

    from superconverge._signals import Terminated, sigterm_as_interrupt

    install = signal.signal

    def signal_(sig: int, handler: object) -> object:
        done = install(sig, handler)
        if sig == signal.SIGTERM and handler is not signal.SIG_DFL:
            monkeypatch.setattr(signal, "signal", install)
            raise Terminated("SIGTERM")  # (as its handler raises, run just after it went in)
        return done

    monkeypatch.setattr(signal, "signal", signal_)
    try:
        with pytest.raises(Terminated), sigterm_as_interrupt():
            pass
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    finally:
        install(signal.SIGTERM, signal.SIG_DFL)


def test_a_path_that_ends_with_a_separator_names_a_folder_and_is_refused(tmp_path) -> None:
    """A review: Path() drops the separator, so to_json("results/") wrote a file named
    "results", and the next to_json("results/lr_find.json") failed on it ("is a file, not a
    folder"); the CLI refused the same for schedule --out."""
    res = RangeTestResult(lrs=[1e-4, 1e-3, 1e-2], losses=[2.0, 1.5, 3.0],
                          smoothed=[2.0, 1.7, 2.2], stop_reason="diverged", num_iter=3)
    for write in (res.to_json, res.plot, lambda p: atomic.write_text(p, "x")):
        path = f"{tmp_path / 'results'}{os.sep}"
        with pytest.raises(IsADirectoryError, match=rf"cannot write {re.escape(path)}: it names "
                           r"a folder \(it ends with a separator\); give a file name in it"):
            write(path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IsADirectoryError):  # (no folder made first)
        atomic.write_files([(f"{tmp_path / 'made' / 'here'}{os.sep}", b""),
                            (tmp_path / "made" / "b.json", b"")])
    assert list(tmp_path.iterdir()) == []
    for end, said in ((".", "'.'"), ("..", "'..'")):  # (Path drops a last ".": a file "results")
        path = f"{tmp_path / 'results'}{os.sep}{end}"
        for write in (res.to_json, res.plot, lambda p: atomic.write_text(p, "x")):
            with pytest.raises(IsADirectoryError, match=rf"cannot write {re.escape(path)}: it "
                               rf"names a folder \(it ends with {said}\); give a file name"):
                write(path)
    assert list(tmp_path.iterdir()) == []
    for name in ("a.", "..a", ".a", "a/.a"):  # names of files, dots and all
        atomic.write_text(tmp_path / name, "x")
    res.to_json(tmp_path / "results" / "lr_find.json")  # the file in it, as meant


@pytest.mark.parametrize("before", [None, b"old"], ids=["new", "written over"])
def test_the_bytes_have_no_name_until_they_are_whole(nameless_files, tmp_path, monkeypatch,
                                                     before) -> None:
    """A kill as a file is written (a notebook's SIGKILL, half a second after its interrupt)
    left atomic_path's hidden temporary file beside the curve (seen once in CI): while
    write_bytes writes, the folder holds no new name, only the old file, whole."""
    target = tmp_path / "plot.png"
    if before is not None:
        target.write_bytes(before)
    seen: list[tuple[list[str], bytes | None]] = []
    linked: list[str] = []
    real, link = os.write, os.link

    def write(fd, data):
        seen.append((sorted(os.listdir(tmp_path)),
                     target.read_bytes() if target.exists() else None))
        return real(fd, data[:3])  # (a few bytes at a time: the loop writes the rest)

    def named(src, dst, **kwargs):
        linked.append(os.path.basename(dst))
        return link(src, dst, **kwargs)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "link", named)
    atomic.write_bytes(target, b"new plot")
    monkeypatch.undo()
    assert target.read_bytes() == b"new plot" and len(seen) == 3
    assert seen == [([] if before is None else ["plot.png"], before)] * 3
    # A new file is linked under its own name: no temporary name, not for a moment. One
    # written over is linked beside it and renamed onto it (a link cannot replace a file).
    if before is None:
        assert linked == ["plot.png"]
    else:
        assert len(linked) == 1 and re.fullmatch(r"\.plot\.[0-9a-f]{8}\.png", linked[0])
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
@pytest.mark.parametrize("before", [None, b"old"], ids=["new", "written over"])
def test_a_kill_as_the_bytes_are_written_leaves_nothing_behind(
        nameless_files, killed_as_it_writes, tmp_path, before) -> None:
    import subprocess

    target = tmp_path / "table.json"
    if before is not None:
        target.write_bytes(before)
    code = killed_as_it_writes + ("from superconverge import atomic\n"
                                   "atomic.write_bytes(sys.argv[1], mark + bytes(100_000))\n")
    done = subprocess.run([sys.executable, "-c", code, str(target), b"MARK".hex()], timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    assert sorted(os.listdir(tmp_path)) == ([] if before is None else ["table.json"])
    if before is not None:
        assert target.read_bytes() == before


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
@pytest.mark.parametrize("sweep", ["stopped", "finished"])
def test_a_kill_as_find_lrs_plot_is_written_leaves_only_the_curve(
        nameless_files, killed_as_it_writes, tmp_path, sweep) -> None:
    """The race of test_a_notebooks_interrupt_of_a_shell_cell_keeps_the_curve, made sure: the
    SIGKILL lands as a stopped sweep's plot's bytes go in. Its hidden temporary file used to
    stay beside the JSON; now the folder holds the curve and nothing else. A finished run's
    pair went in through two named temporary files, both left beside the older pair by a kill
    as the plot's bytes went in; now only the older pair stays."""
    import subprocess

    if sweep == "finished":
        (tmp_path / "lr_find.json").write_text("an older run's")
    reason = "interrupted" if sweep == "stopped" else "completed"
    code = killed_as_it_writes + (
        "import importlib\n"
        "from superconverge.finder import RangeTestResult\n"
        "find_lr = importlib.import_module('superconverge.recipes.find_lr')\n"
        "lrs = [10 ** (-4 + i / 10) for i in range(30)]\n"
        "losses = [2.0 - i / 20 for i in range(30)]\n"
        "res = RangeTestResult(lrs=tuple(lrs), losses=tuple(losses), smoothed=tuple(losses),\n"
        f"                      stop_reason='{reason}', num_iter=60)\n"
        + ("find_lr._write_partial(res, sys.argv[1], 'default', KeyboardInterrupt())\n"
           if sweep == "stopped" else "find_lr._write(res, sys.argv[1], 'default')\n"))
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), b"\x89PNG".hex()],
                          timeout=120, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    if sweep == "stopped":
        assert sorted(os.listdir(tmp_path)) == ["lr_find.partial.json"]
        assert len(RangeTestResult.from_json(tmp_path / "lr_find.partial.json").lrs) == 30
    else:
        assert sorted(os.listdir(tmp_path)) == ["lr_find.json"]
        assert (tmp_path / "lr_find.json").read_text() == "an older run's"


@pytest.mark.parametrize("before", [None, b"old"], ids=["new", "written over"])
def test_a_system_that_cannot_link_a_nameless_file_writes_through_atomic_path(
        nameless_files, tmp_path, monkeypatch, before) -> None:
    """Where the unnamed file cannot be linked (no /proc; Python's plain os.link of
    /proc/self/fd/N, which links the symbolic link itself, says EXDEV), atomic_path writes the
    bytes instead: the same file, nothing left beside it."""
    target = tmp_path / "t.csv"
    if before is not None:
        target.write_bytes(before)
    used: list[object] = []
    named = atomic.atomic_path

    def spy(path):
        used.append(path)
        return named(path)

    def cannot(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(atomic, "atomic_path", spy)
    monkeypatch.setattr(os, "link", cannot)
    atomic.write_text(target, "step,lr\n")
    assert used == [target] and target.read_text() == "step,lr\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_a_file_made_as_the_bytes_are_linked_is_replaced_as_a_rename_would(
        nameless_files, tmp_path, monkeypatch) -> None:
    """No file was there when the bytes were written, but one is when they are linked (another
    writer's): a link cannot replace it, so it is renamed over, as atomic_path's rename does."""
    target = tmp_path / "t.csv"
    permissions = atomic._give_permissions
    _no_falling_back(monkeypatch)

    def then_made(file, path):
        old = permissions(file, path)
        path.write_text("another writer's\n")
        return old

    monkeypatch.setattr(atomic, "_give_permissions", then_made)
    atomic.write_text(target, "ours\n")
    assert target.read_text() == "ours\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_a_sigterm_lost_as_the_bytes_are_written_keeps_the_file_unwritten(
        nameless_files, tmp_path, monkeypatch) -> None:
    """As atomic_path (test_a_sigterm_lost_in_a_finalizer_still_stops_the_write): a SIGTERM
    whose exception Python dropped in a finalizer, as the bytes went in, is raised once they
    are in, and the file is not written."""
    from superconverge._signals import Terminated, sigterm_as_interrupt

    target = tmp_path / "a.txt"
    target.write_text("old")
    real = os.write

    def write(fd, data):
        _StopInAFinalizer()  # (collected at once)
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(Terminated, match="SIGTERM"), sigterm_as_interrupt():
        atomic.write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_full_disk_as_the_bytes_are_written_names_the_target(nameless_files, tmp_path,
                                                               monkeypatch) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    _no_falling_back(monkeypatch)

    def full(fd, data):
        raise disk_full()

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match=f"^\\[Errno {errno.ENOSPC}\\] cannot write {target}: "
                                      "No space left on device$"):
        atomic.write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


# --- write_files: several files written as one ---------------------------------------------

def _placed(monkeypatch, tmp_path) -> list[str]:
    """The names given their new bytes, in order: the renames and links into ``tmp_path``
    under a name that is not a temporary one."""
    placed: list[str] = []
    rename, link = os.replace, os.link

    def replaced(src, dst, **kwargs):
        placed.append(os.path.basename(dst))
        return rename(src, dst, **kwargs)

    def linked(src, dst, **kwargs):
        if not os.path.basename(dst).startswith("."):
            placed.append(os.path.basename(dst))
        return link(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replaced)
    monkeypatch.setattr(os, "link", linked)
    return placed


@pytest.mark.parametrize("before", [None, "old"], ids=["new", "written over"])
def test_files_written_as_one_go_in_place_in_order_once_all_are_written(
        tmp_path, monkeypatch, route, before) -> None:
    """write_files: every file's bytes are written before any is put in place, both in the
    order given (the JSON before its plot: a plot older than its JSON is an older run's)."""
    table, plot = tmp_path / "t.json", tmp_path / "t.png"
    if before is not None:
        table.write_text(before)
        plot.write_text(before)
    placed = _placed(monkeypatch, tmp_path)
    real, events = os.write, []

    def write(fd, data):
        events.append(("wrote", bytes(data[:1]), list(placed)))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    assert atomic.write_files([(table, '{"a": 1}\n'), (plot, b"\x89PNG")]) == [table, plot]
    assert atomic.write_files([]) == []  # (no files: nothing to lock, nothing to write)
    assert events == [("wrote", b"{", []), ("wrote", b"\x89", [])]  # nothing placed yet
    assert placed == ["t.json", "t.png"]
    assert table.read_bytes() == '{"a": 1}\n'.replace("\n", os.linesep).encode()
    assert plot.read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.png"]
    assert table.stat().st_mtime_ns <= plot.stat().st_mtime_ns


@pytest.mark.parametrize("before", [None, "old"], ids=["new", "written over"])
def test_a_full_disk_as_files_written_as_one_go_in_leaves_every_file_as_it_was(
        tmp_path, monkeypatch, route, before) -> None:
    first, second = tmp_path / "a.json", tmp_path / "a.png"
    if before is not None:
        first.write_text(before)
        second.write_text(before)
    real = os.write

    def full(fd, data):  # the second file's bytes
        if bytes(data[:1]) == b"2":
            raise disk_full()
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match=f"^\\[Errno {errno.ENOSPC}\\] cannot write {second}: "
                                      "No space left on device$"):
        atomic.write_files([(first, b"1"), (second, b"2")])
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        [] if before is None else ["a.json", "a.png"])
    if before is not None:
        assert first.read_text() == second.read_text() == before


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_a_sigterm_lost_as_files_written_as_one_go_in_keeps_them_all_unwritten(
        tmp_path, monkeypatch, route) -> None:
    from superconverge._signals import Terminated, sigterm_as_interrupt

    first, second = tmp_path / "a.json", tmp_path / "a.png"
    first.write_text("old")
    real = os.write

    def write(fd, data):
        if bytes(data[:1]) == b"2":
            _StopInAFinalizer()  # (collected at once)
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(Terminated, match="SIGTERM"), sigterm_as_interrupt():
        atomic.write_files([(first, b"1"), (second, b"2")])
    assert first.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


@pytest.mark.parametrize("fails", [1, 2], ids=["the first", "the second"])
def test_files_written_as_one_that_cannot_be_linked_go_through_atomic_path(
        nameless_files, tmp_path, monkeypatch, fails) -> None:
    """Where the first unnamed file cannot be linked, atomic_path writes them all; where a
    later one cannot (another file system), it writes that one and those after it."""
    first, second = tmp_path / "a.json", tmp_path / "b" / "a.png"
    used: list[object] = []
    named, link, calls = atomic.atomic_path, os.link, []

    def spy(path):
        used.append(path)
        return named(path)

    def cannot(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == fails:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return link(*args, **kwargs)

    monkeypatch.setattr(atomic, "atomic_path", spy)
    monkeypatch.setattr(os, "link", cannot)
    atomic.write_files([(first, b"1"), (second, b"2")])
    # (all of them entered last to first, to be renamed into place first to last)
    assert used == ([second, first] if fails == 1 else [second])
    assert (first.read_bytes(), second.read_bytes()) == (b"1", b"2")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "a.png", "b"]


def test_a_stream_among_files_written_as_one_gets_its_bytes(tmp_path, capfd, route) -> None:
    """In its turn, from memory where the files have no name: no temporary file (a kill left
    the pair's, and the stream's in the system's temporary folder)."""
    table = tmp_path / "t.csv"
    atomic.write_files([(table, "step\n"), ("/dev/stdout", "lr\n")])
    assert table.read_text() == "step\n" and capfd.readouterr().out == "lr\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
def test_a_kill_as_files_written_as_one_go_in_beside_a_stream_leaves_nothing(
        nameless_files, killed_as_it_writes, tmp_path) -> None:
    """A review: with lr_find.png a link to /dev/null (no plot wanted), the pair went through
    atomic_path, and a kill as the JSON's bytes went in left its temporary file beside it and
    the plot's in the system's temporary folder."""
    import subprocess

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").symlink_to("/dev/null")
    (tmp_path / "tmp").mkdir()
    code = killed_as_it_writes + (
        "from superconverge import atomic\n"
        "atomic.write_files([(sys.argv[1] + '/a.json', mark + bytes(100_000)),\n"
        "                    (sys.argv[1] + '/a.png', b'x')])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out"), b"MARK".hex()],
                          timeout=120, capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    assert done.returncode == -9, done.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png"]
    assert os.listdir(tmp_path / "tmp") == []


def test_files_written_as_one_take_any_bytes_and_paths_once(tmp_path) -> None:
    """A review: an iterator of files was written, and [] returned; a bytearray or memoryview,
    which write_bytes takes, was refused with an error that did not say so."""
    given = iter([(tmp_path / "a", bytearray(b"1")), (tmp_path / "b", memoryview(b"2"))])
    assert atomic.write_files(given) == [tmp_path / "a", tmp_path / "b"]
    assert (tmp_path / "a").read_bytes() == b"1" and (tmp_path / "b").read_bytes() == b"2"


def test_save_figure_gives_metadata_only_to_the_formats_that_take_it(tmp_path) -> None:
    """A review: metadata=None went to every writer, and matplotlib's PGF writer takes no
    such argument (a .pgf plot failed with a TypeError)."""
    got: dict[str, dict[str, object]] = {}

    class Canvas:
        def get_supported_filetypes(self) -> dict[str, str]:
            return {"pgf": "LaTeX PGF", "svg": "SVG", "png": "PNG"}

    class Fig:
        canvas = Canvas()

        def savefig(self, out: object, format: str, **kwargs: object) -> None:
            got[format] = kwargs
            out.write(b"x")  # type: ignore[attr-defined]

    for suffix in ("pgf", "svg", "png"):
        atomic.save_figure(Fig(), tmp_path / f"f.{suffix}")
    assert got["pgf"] == got["png"] == {"dpi": "figure"}
    assert got["svg"] == {"dpi": "figure", "metadata": {"Date": None}}
