"""SIGTERM and SIGHUP as exceptions: the stop from outside (a job scheduler's time limit,
``kill``, a closed terminal) handled as Ctrl-C is. Torch-free: ``superconverge schedule``,
which imports no torch, writes its files under it too."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

_HANGUP: int | None = getattr(signal, "SIGHUP", None)  # none on Windows


class Terminated(KeyboardInterrupt):
    """SIGTERM, or SIGHUP (a closed terminal, a dropped ssh session), under
    :func:`sigterm_as_interrupt`: a stop from outside (a job scheduler's time limit, ``kill``),
    handled as Ctrl-C is (the state restored, the curve so far kept). ``args[0]`` is the
    signal's name."""

    @property
    def signum(self) -> int:
        """The signal's number (SIGTERM's where the name is not one)."""
        name = self.args[0] if self.args else ""
        return int(getattr(signal, name, signal.SIGTERM)) if isinstance(name, str) else int(
            signal.SIGTERM)

    @classmethod
    def instead_of(cls, exc: BaseException, signum: int = signal.SIGTERM) -> Terminated:
        """A SIGTERM (or ``signum``) that came while ``exc`` (an error, a Ctrl-C) was on its
        way: the stronger stop, carrying the curve ``exc`` carried (``partial_result``,
        ``partial_path``); raise it ``from exc``."""
        stop = cls(signal.Signals(signum).name)
        for name in ("partial_result", "partial_path"):
            if hasattr(exc, name):
                setattr(stop, name, getattr(exc, name))
        return stop


def stop_for(signum: int) -> KeyboardInterrupt:
    """The exception a held-off signal (:func:`signals_deferred`'s ``came()``) raises:
    ``KeyboardInterrupt`` for SIGINT, :class:`Terminated` for SIGTERM and SIGHUP."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return Terminated(signal.Signals(signum).name)


def put_back(previous: dict[int, Any]) -> None:
    """Install the handlers ``previous`` maps signals to, with those signals blocked: one that
    came between two of them raised at the next, before it was put back (a Ctrl-C left SIGTERM
    held for good, a review). Blocked, it waits in the system until all are back.

    The mask is this thread's alone: a signal sent to the process may be taken by another
    thread (numpy's BLAS threads), and its Python handler then runs here all the same, raising
    at any bytecode once that handler is in. So every handler is put back before the first
    such exception is raised (a review, on a loaded machine), the last given first (SIGINT's,
    which raises, last, where :func:`signals_deferred` gave it first)."""
    mask = None
    if previous and hasattr(signal, "pthread_sigmask"):
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, set(previous))
    came: BaseException | None = None
    left = list(previous.items())
    try:
        while True:
            # The try holds the whole loop: a handler runs between any two bytecodes, the
            # loop's own too (Python 3.10 on a loaded machine: SIGTERM's was left out, held
            # for good, where the Ctrl-C raised at the loop's next turn, not in signal()).
            try:
                while left:
                    signal.signal(*left[-1])
                    left.pop()  # (raised before this: that handler is put again, no harm)
                break
            except BaseException as exc:
                if came is None:
                    came = exc
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if came is not None:
        raise came


def take_over(previous: dict[int, Any], sig: int, replaced: tuple[Any, ...],
              handler: Any) -> None:
    """Install ``handler`` for ``sig`` where its handler is one of ``replaced``, that one
    recorded in ``previous`` (for :func:`put_back`) before it is replaced: a signal just after
    ``handler`` went in, raising, left it in for good where it was recorded after (a review).
    Called inside the try whose ``finally`` puts ``previous`` back. Outside the main
    interpreter, where no handler may be set, nothing changes."""
    try:
        if (before := signal.getsignal(sig)) in replaced:
            previous[sig] = before
            signal.signal(sig, handler)
    except (ValueError, OSError):  # not the main interpreter
        previous.pop(sig, None)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


_lost: list[str] = []  # the stops whose Terminated Python dropped, by signal name, in order
_hooks: list[Any] = []  # the unraisable hook _note_lost_stops stands in for


def _note_lost_stops(unraisable: Any) -> None:
    """``sys.unraisablehook`` under :func:`sigterm_as_interrupt`. Python drops what a signal
    handler raises inside a finalizer (a ``__del__``, a weakref callback: "Exception ignored
    in ..."), so a SIGTERM there let ``schedule --out`` go on and exit 0 (seen once, in a test
    run on a loaded machine). A dropped :class:`Terminated` is noted for :func:`raise_if_lost`
    to raise again (and not printed as a traceback); anything else goes to the hook before."""
    if isinstance(unraisable.exc_value, Terminated):
        _lost.append(str(unraisable.exc_value))
    else:
        _hooks[-1](unraisable)


def lost() -> int:
    """How many stops from outside Python has dropped so far: a mark for
    :func:`raise_if_lost`."""
    return len(_lost)


def raise_if_lost(mark: int) -> None:
    """Raise :class:`Terminated` where Python dropped one since ``mark`` (a :func:`lost`)."""
    if len(_lost) > mark:
        raise Terminated(_lost[-1])


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the body, SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``)
    instead of ending the process at once, where their handler is the system's default (not
    under ``nohup``, which ignores SIGHUP) and this is the main thread; the handlers before
    are put back after. One that came in a finalizer, where Python drops what the handler
    raises, is raised as the body ends (:func:`raise_if_lost`)."""
    previous: dict[int, Any] = {}
    mark = lost()
    hidden = False
    try:
        # Installed inside the try (a SIGTERM just after the first went in raised out of
        # this, leaving that handler in for good)
        if threading.current_thread() is threading.main_thread():
            for sig in [s for s in (signal.SIGTERM, _HANGUP) if s is not None]:
                take_over(previous, sig, (signal.SIG_DFL,), _raise_terminated)
        if previous and sys.unraisablehook is not _note_lost_stops:
            _hooks.append(sys.unraisablehook)
            hidden = True
            sys.unraisablehook = _note_lost_stops
        yield
    finally:
        try:
            put_back(previous)
        finally:
            if hidden:
                sys.unraisablehook = _hooks.pop()
    raise_if_lost(mark)  # (the body ended as if none came: one was dropped in a finalizer)
