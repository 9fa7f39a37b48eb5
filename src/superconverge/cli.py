"""Command line: parses arguments and calls the library; no logic of its own lives here."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import io
import logging
import math
import os
import re
import shlex
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

from superconverge import __version__
from superconverge._signals import Terminated, sigterm_as_interrupt
from superconverge._torch_version import TorchTooOld
from superconverge.atomic import folder_ending, name_suffix, not_a_file, one_line

if TYPE_CHECKING:  # (the CLI imports no torch until a command needs it)
    from superconverge.finder import RangeTestResult


class _ReaderLeft(Exception):
    """The reader of our output went away (``superconverge schedule ... | head -1``)."""


@contextlib.contextmanager
def _reader_may_leave() -> Iterator[None]:
    """A write into a stream (``--out /dev/stdout``) whose reader has gone ends the command as
    :func:`_say` does: quietly."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise _ReaderLeft from None
        raise


class _StreamFailed(OSError):
    """A write to stdout or stderr that failed (``> /dev/full``): said as such, exit status 1,
    not as a bad argument or file (a bug bash: "error: No space left on device", status 2,
    after the command's files were written)."""


def _say(text: str, stream: Any) -> None:
    """Write ``text`` to ``stream``: nothing where it is closed (``>&-`` leaves ``None``), and
    characters its encoding lacks (a path's ü under ``PYTHONIOENCODING=ascii``) escaped, not
    an error after the work is done. A pipe whose reader has gone raises :class:`_ReaderLeft`,
    which ends the command quietly, as Unix tools end."""
    if stream is None:
        return
    with _reader_may_leave(), _named(stream):
        # In pieces, each flushed: one write of a long table into a pipe whose reader leaves
        # midway (| head -3) was cut short without an error (the write returned what the pipe
        # took), and the command ended 0 with the rest of the table dropped.
        for start in range(0, max(len(text), 1), _PIECE):
            piece = text[start:start + _PIECE]
            try:
                stream.write(piece)
            except UnicodeEncodeError:
                encoding = getattr(stream, "encoding", None) or "ascii"
                stream.write(piece.encode(encoding, "backslashreplace").decode(encoding))
            stream.flush()  # here, where a gone reader is told apart from other errors


_PIECE = 1 << 14  # characters _say writes at a time: a pipe holds 64 KiB


@contextlib.contextmanager
def _named(stream: Any) -> Iterator[None]:
    """A failed write into ``stream`` (not a gone reader's) as :class:`_StreamFailed`."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # (a gone reader's: _reader_may_leave's to tell)
            raise
        name = ("stdout" if stream is sys.stdout else "stderr" if stream is sys.stderr
                else getattr(stream, "name", "the output"))
        raise _StreamFailed(exc.errno, f"cannot write to {name}: "
                            f"{exc.strerror or one_line(exc)}") from None


def _floats(text: str) -> tuple[float, ...]:
    # "" from an unset shell variable is refused, not taken as "none", and so is an empty
    # item ("0.5,$UNSET"), not taken as one number fewer. A whole number written as one (a
    # milestone's step, 100) stays an int, and messages echo it as one, not as 100.0.
    try:
        # (up to 18 digits: a longer one is read as a float, not as an int, which Python
        # refuses past 4300 digits; past a float's range it is refused as not finite)
        return tuple(int(x) if re.fullmatch(r"\s*[+-]?\d(?:_?\d){0,17}\s*", x) else float(x)
                     for x in text.split(","))
    except ValueError:
        empty = " (an empty item)" if any(not x.strip() for x in text.split(",")) else ""
        msg = f"expected comma-separated numbers, got {text!r}{empty}"
        raise argparse.ArgumentTypeError(msg) from None


def _at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int >= ``minimum`` (and <= ``maximum``), refused by the parser
    naming the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum:,}, got {value:,}")
        return value

    parse.__name__ = "int"  # what argparse calls the type in its messages
    return parse


def _path(text: str) -> str:
    """An argparse type: a path that is not empty (``--out ""``, from an unset shell variable,
    would otherwise mean the current folder, or stdout), with a leading ``~`` expanded to the
    home folder: the shell leaves it in ``--out=~/runs``, the ``--flag=path`` form the
    commands find-lr prints use (a user's bug bash: a folder named "~" was made here, and
    "wrote ~/runs/lr_find.json" read as the home folder's)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name a file or folder")
    path = os.path.expanduser(text)
    if not os.path.isabs(path) and text != "-":
        try:
            os.getcwd()
        except FileNotFoundError:  # (a bug bash: a traceback, and its handler's traceback)
            raise argparse.ArgumentTypeError(
                f"{text!r} is relative to the current folder, which has been removed; cd into "
                "a folder that exists, or give an absolute path") from None
    return path


class _Worded(ValueError):
    """An error that holds a range test's reason, worded already (in find-lr's flags, or the
    library's names): its words of the range test (:data:`_RANGE_TEST_WORDS`) are not put in
    this command's flags; its own are."""


_RANGE_TEST_WORDS = ("mode", "num_iter", "start_lr", "end_lr")
"""The range test's settings a reason may name: ``mode='exp'`` is the sweep's, not the CLR
waveform that ``schedule --mode`` is (a review: "(--mode='exp')")."""


def _folder(text: str) -> str:
    """An argparse type: a folder to write into, not ``-`` (stdout, to most tools: a folder
    named "-" would be made)."""
    if text.strip() == "-":
        raise argparse.ArgumentTypeError(
            "'-' (stdout): find-lr writes a folder (lr_find.json, lr_find.png); name one, "
            "e.g. --out runs/find-lr")
    return _path(text)


MAX_TABLE_STEPS = 1_000_000
"""The most steps ``schedule`` tabulates: a row per step, built in memory (a million rows take
about 0.18 GB as CSV and 1.2 GB as JSON; a typo with three zeros too many would fill the memory).
Longer runs: ``Schedule.table(steps)`` or a sample of steps in Python."""

MAX_DRAWN_STEPS = 10_000_000
"""The most steps ``schedule`` draws (png, svg, pdf, ascii): every step's values are computed,
for a fast cycle keeps its height (10 million steps took about 46 s and 0.4 GB on a 2-core
machine). A bug bash: a 2-million-step run could not be drawn, told "one row per step"."""


MAX_REPEATS = 1000
"""The most range tests ``find-lr --repeats`` runs: a guard against a typo (ten are plenty to
see a suggestion's spread)."""


def _max_threads() -> int:
    """The most ``--threads``: 4 for each CPU this process may run on (at least 8). Past some
    thousands torch's thread pool fails to start or crashes the process (100,000: a
    segmentation fault)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    return max(8, 4 * cpus)


def _delimiter(text: str) -> str:
    r"""One character; a tab as ``\t`` or ``tab`` too, since a shell hands a typed tab over
    badly (``--delimiter '\t'`` passes a backslash and a t)."""
    if text in ("\\t", "tab", "TAB"):
        return "\t"
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one character (or \\t or tab for a tab), got {text!r}")
    return text


class _DefaultsShown(argparse.HelpFormatter):
    """Help that ends with "(default: X)" where an option has a default its text does not
    already give."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (default is None or default is argparse.SUPPRESS or isinstance(default, bool)
                or "default" in text or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


# --- schedule ----------------------------------------------------------------------------------

_SCHEDULE_OPTIONS: list[tuple[str, type | Callable[[str], object], str]] = [
    ("--max-lr", float, "peak learning rate (one-cycle, one-cycle-two-phase, clr, cosine: 1.0)"),
    ("--base-lr", float, "lower bound of a cyclical LR (clr: 0.1)"),
    ("--lr", float, "the learning rate of fixed and step-decay (0.1)"),
    ("--div", float, "lower bound = max_lr / div (one-cycle: 10; two-phase: 25)"),
    ("--final-div", float, "final LR = lower bound / final_div (one-cycle: 100; two-phase: "
     "1e4)"),
    ("--annihilation-fraction", float, "fraction of the run after the cycle (one-cycle: 0.1)"),
    ("--warmup-fraction", float, "fraction of the run warming up (two-phase: 0.3)"),
    ("--anneal", str, "linear or cos (one-cycle: linear; two-phase: cos)"),
    ("--step-size", _at_least(1), "steps in the rising half of a cycle (clr: --steps // 4, two "
     "cycles; the last step is on base_lr when --steps is 4k + 1, e.g. 4001)"),
    ("--step-size-down", _at_least(0),
     "steps in the falling half (clr; default: --step-size; 0: a sawtooth)"),
    ("--mode", str, "clr waveform: triangular (default), triangular2, exp_range, sine"),
    ("--gamma", float, "exp_range decay per step (clr: 1.0)"),
    ("--high-momentum", float, "momentum at the ends of the cycle (0.95)"),
    ("--low-momentum", float, "momentum at the LR peak (0.85)"),
    ("--milestones", _floats, "step-decay milestones: fractions of the run (< 1) or whole "
     "step numbers (>= 1); default 0.5,0.75"),
    ("--factor", float, "step-decay multiplier at each milestone, in (0, 1] (0.1)"),
    ("--final-lr", float, "last value of a cosine decay (0)"),
]


def _add_schedule(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from superconverge._names import METHODS
    from superconverge.schedules.policy import POLICIES

    p = sub.add_parser(
        "schedule",
        parents=[common],
        help="preview a schedule: step, lr, momentum as csv/json/ascii or a png/svg/pdf plot",
        description="Tabulate or plot a training policy per optimizer step before using it. "
        "Options a policy does not take are refused; its defaults are those of "
        "superconverge.schedules.make_policy (e.g. one-cycle --max-lr 1.0).",
    )
    p.add_argument("policy", choices=sorted(POLICIES), help="the policy")
    p.add_argument("--steps", type=_at_least(1), required=True,
                   help=f"total optimizer steps of the run (at most {MAX_TABLE_STEPS:,} for "
                   f"csv and json, one row per step; {MAX_DRAWN_STEPS:,} for a plot or ascii)")
    p.add_argument("--format", choices=("csv", "json", "ascii", *_PLOTS),
                   help="default: the one --out's suffix names (.csv, .json, .png, .svg, .pdf), "
                   "else csv (no --out, none, .txt)")
    p.add_argument("--out", type=_path, help="write here instead of stdout (- is stdout; a "
                   "file is required for the plots: png, svg, pdf)")
    p.add_argument("--from-lr-find", metavar="JSON", type=_path,
                   help="take the LRs from a find-lr result "
                   "(its lr_find.json, or the folder holding it; - reads it from stdin): the "
                   "suggestion for "
                   "fixed/step-decay/cosine, max_lr for one-cycle (which starts at max_lr / "
                   "--div), both bounds for clr; explicit LR options still win")
    p.add_argument("--method", choices=METHODS, help="with --from-lr-find, for fixed, "
                   "step-decay and cosine: the suggestion rule (default: the one find-lr was run "
                   "with; one-cycle and clr take the bounds, which no rule changes)")
    for flag, typ, text in _SCHEDULE_OPTIONS:
        p.add_argument(flag, type=typ, help=text)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--cycle-momentum", dest="cycle_momentum", action="store_true", default=None,
                   help="cycle momentum opposite to the LR (one-cycle, one-cycle-two-phase, "
                   "clr; default for the one-cycle policies)")
    g.add_argument("--no-momentum", dest="cycle_momentum", action="store_false",
                   help="leave momentum out (one-cycle, one-cycle-two-phase, clr)")
    names = {flag[2:].replace("-", "_"): flag for flag, _, _ in _SCHEDULE_OPTIONS}
    p.set_defaults(func=_run_schedule, flag_names={
        **names, "total_steps": "--steps", "cycle_momentum": "--cycle-momentum/--no-momentum",
        "method": "--method"})


def _import_torch_held() -> None:
    """Import numpy, torch and the finder with SIGINT, SIGTERM and SIGHUP held back, then let
    one that came in be raised. torch imports numpy inside a try that swallows a Ctrl-C, and
    its C++ set-up aborts on one ("terminate called after throwing ... KeyboardInterrupt"): a
    stop in the first half second left numpy half-imported, and plot or schedule
    --from-lr-find went on to exit 0, a traceback or a false "error:" (a bug bash). Importing
    numpy first was not enough."""
    mask = getattr(signal, "pthread_sigmask", None)  # (not on Windows)
    held = {s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
            if s is not None}
    before = mask(signal.SIG_BLOCK, held) if mask is not None else None
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401

        import superconverge.finder  # noqa: F401
    finally:
        if mask is not None and before is not None:
            mask(signal.SIG_SETMASK, before)  # (a signal held back is delivered here)


def _run_schedule(args: argparse.Namespace) -> int:
    # A SIGTERM or SIGHUP while a file is written stops as Ctrl-C does: the temporary file
    # beside --out is removed (a review found it left there), and the exit status is 143, 129.
    with sigterm_as_interrupt():
        if args.from_lr_find is not None:
            _import_torch_held()
        return _schedule(args)


def _schedule(args: argparse.Namespace) -> int:
    from superconverge import atomic
    from superconverge.report.schedule_preview import plot_policy, render_policy
    from superconverge.schedules.policy import check_parameter_names, make_policy

    params = {}
    for flag, _, _ in _SCHEDULE_OPTIONS:
        name = flag[2:].replace("-", "_")
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.cycle_momentum is not None:
        params["cycle_momentum"] = args.cycle_momentum
    # Before a curve is read (a review: --max-lr to fixed, on a curve without a pick, was
    # answered "give --lr yourself")
    check_parameter_names(args.policy, params)
    if args.method is not None and not args.from_lr_find:
        raise ValueError("--method picks an LR from a range test; it needs --from-lr-find JSON")
    if args.out == "-":  # stdout, as most tools read it (a review: a file named "-" was written)
        if args.format in _PLOTS:
            raise ValueError(f"--out - is stdout, which takes csv, json or ascii; write the "
                             f"{args.format} plot to a file: --out FILE.{args.format}")
        args.out = None
    fmt = _output_format(args.format, args.out)
    table = fmt in ("csv", "json")
    most = MAX_TABLE_STEPS if table else MAX_DRAWN_STEPS
    # (one message for both caps: a review found 10**9 told the plots' cap, then 10**7 the
    # table's)
    drawn = (f" (a plot, --out FILE.png, or --format ascii draws runs of up to "
             f"{MAX_DRAWN_STEPS:,} steps)")
    if args.steps > most:
        raise ValueError(f"--steps must be <= {most:,} for {fmt}"
                         f"{', one row per step' + drawn if table else ''}, got {args.steps:,}")
    if args.from_lr_find is not None:
        from superconverge.finder import RangeTestResult
        from superconverge.recipes import lrs_from_range_test, momentum_note
        from superconverge.recipes.from_range_test import reads_suggestion

        source: str | BinaryIO = args.from_lr_find
        if args.from_lr_find == "-":  # stdin, as --out - is stdout (a bug bash: a file "-")
            shut = sys.stdin is None or sys.stdin.closed
            if shut or sys.stdin.isatty():  # (a terminal: it would wait for typed JSON)
                raise ValueError("--from-lr-find - reads the result from stdin, which is "
                                 f"{'closed' if shut else 'a terminal'}; pipe it in "
                                 "(--from-lr-find - < lr_find.json) or name the file")
            # (a text stream with no bytes beneath, a notebook's or a harness's: its text, a
            # review: an AttributeError's traceback)
            buffer = getattr(sys.stdin, "buffer", None)
            source = buffer if buffer is not None else io.BytesIO(
                sys.stdin.read().encode("utf-8"))
            args.from_lr_find = "stdin"
        elif Path(args.from_lr_find).is_dir():  # the --out folder find-lr wrote into
            inside = _finished_in(args.from_lr_find, f"--from-lr-find {args.from_lr_find}",
                                  _from_lr_find, "the LRs come from", "takes")
            args.from_lr_find = source = str(inside)
        result = RangeTestResult.from_json(source)
        # policy_from_range_test's two steps, to say what the LRs taken are. An error's
        # advice for measuring the curve again is in find-lr's flags, as the warnings are.
        failed: ValueError | None = None
        try:
            taken = lrs_from_range_test(args.policy, result, method=args.method, given=params)
        except ValueError as exc:
            failed, taken = exc, {}
        # A curve find-lr measured is warned of in find-lr's flags (--num-iter, not num_iter):
        # the advice is for the command that measures it again.
        again = _find_lr_flags() if "dataset" in (result.config or {}) else {}
        # Say what the LRs rest on when the curve is not a clean one, where they are read
        # off it: where options give them all, nothing is (a bug bash: the warnings spoke of
        # picks that were not taken; policy_from_range_test says nothing there).
        if failed is not None or taken:
            if result.stop_reason not in ("completed", "diverged"):
                _say(f"note: the range test in {args.from_lr_find} stopped: "
                     f"{result.stop_summary()}\n",
                     sys.stderr)
            warned = result.warnings(args.method, pick=reads_suggestion(args.policy, params))
            # (a bug bash: --mode exp, followed here, was clr's waveform; a review: said where
            # a warning names one)
            if any(_as_flags(w, again) != w for w in warned):
                _say(f"note: the flags the range test's warnings name are find-lr's, to run it "
                     f"again with (not {args.command}'s)\n", sys.stderr)
            for w in warned:
                _say(f"warning: {_as_flags(w, again)}\n", sys.stderr)
        if failed is not None:
            # Worded for find-lr, or in the library's names: not this command's flags, whose
            # --mode is the CLR waveform (a review: "(--mode='exp')")
            raise _Worded(_as_flags(str(failed), again)) from None
        if taken:  # what the schedule rests on, on stderr (stdout may be the CSV)
            said = ", ".join(f"{k} {x:.4g}" for k, x in taken.items())
            ratios = (result.config or {}).get("param_group_ratios")
            # (numbers only, as a hand-edited file may hold others, and apart by more than a
            # float's rounding: 3e-4 and 0.1 * 3e-3 were "ratios 1, 1", a review)
            if (isinstance(ratios, list) and len(ratios) > 1
                    and all(isinstance(r, int | float) and not isinstance(r, bool)
                            and abs(r) < 1e300 and math.isfinite(r) for r in ratios)
                    and any(not math.isclose(r, ratios[0], rel_tol=1e-9) for r in ratios)):
                # (a bug bash: a sweep of groups at 1e-5 and 1e-3 gave group 0's LRs unsaid)
                said += (f" (param group 0's: the sweep ran its {len(ratios)} groups at "
                         f"ratios {', '.join(f'{r:.4g}' for r in ratios[:6])}"
                         f"{', ...' if len(ratios) > 6 else ''} to it, which a ParamScheduler "
                         "keeps)")
            said += _batch_note(result.config or {}, result.provenance or {})
            _say(f"from {args.from_lr_find}: {said}\n", sys.stderr)
    else:
        taken = {}
    args.taken = list(taken)  # their names stay in messages: no flag of the user's set them
    # (whole steps; the library words the rest, and names no count past 1e20)
    past = [m for m in params.get("milestones") or ()
            if math.isfinite(m) and m == int(m) and most <= m <= 10**20]
    if args.policy == "step-decay" and past:
        # the library's advice (e.g. "fits every --steps >= 2000001") would name a run longer
        # than --steps takes (a user's bug bash)
        raise ValueError(
            f"--milestones {int(past[0])} is a step at or past {most:,}, the most --steps "
            f"takes for {fmt}, so no run this command shows as {fmt} has room for it"
            f"{drawn if table and max(past) < MAX_DRAWN_STEPS else ''}; give fractions of the "
            "run (< 1) or whole steps below --steps")
    policy = make_policy(args.policy, args.steps, **{**taken, **params})
    if taken and (note := momentum_note(result, policy)) is not None:
        _say(f"warning: {note}\n", sys.stderr)
    # "wrote" goes to stderr where --out is itself a stream (/dev/stdout): not into the table
    told = sys.stderr if args.out is not None and atomic.is_stream(args.out) else sys.stdout
    if fmt in _PLOTS:
        with _reader_may_leave():
            plot_policy(policy, args.out)
        _say(f"wrote {args.out}\n", told)
        return 0
    text = render_policy(policy, fmt=fmt)
    if args.out is not None:
        with _reader_may_leave():  # --out /dev/stdout, a named pipe
            atomic.write_text(args.out, text)
        _say(f"wrote {args.out}\n", told)
    else:
        if sys.stdout is None:  # (>&-: the table is the command's whole output, which _say
            # drops; a bug bash: nothing said, status 0)
            raise _StreamFailed(errno.EBADF, "cannot write to stdout: it is closed; give "
                                "--out FILE to write the table to a file")
        _say(text, sys.stdout)
    return 0


def _as_flags(message: str, flags: Mapping[str, str], exclude: Iterable[str] = (),
              keep: Iterable[str] = (), assigned: bool = False,
              paths: Iterable[str] = ()) -> str:
    """``message`` with the library's parameter names as the command's flags (``max_lr`` ->
    ``--max-lr``), except those in ``exclude`` (an LR ``schedule`` took from a range test, which
    no flag of the user's set), inside quotes (a value the user typed: ``got 'lr'``), and inside
    the strings in ``keep`` (the paths the user gave: ``--out lr``), and inside those in
    ``paths`` where a path stands, before a ":" or a separator or after its flag
    (``--from-lr-find max_lr is a folder``). With ``assigned``, a name
    only where a value follows it (``batch_size=500``; ``header=False`` and the other keys that
    hold their ``=``): a warning's text holds paths as the library wrote them and file names in
    a folder, where a bare word (seed, target) is no flag."""
    names = {k: v for k, v in flags.items() if k not in set(exclude)}
    if not names:
        return message
    if "mode=" in names:  # (the value is quoted, which the split below would keep as typed)
        message = message.replace("(mode='exp')", f"({names['mode='].rstrip('=')} exp)")
    # whole words only, never part of a path (runs/max_lr/lr_find.json) or of a longer name
    by_length = sorted(names, key=len, reverse=True)
    if assigned:
        whole = [k for k in by_length if "=" in k]
        bare = [k for k in by_length if "=" not in k]
        keys = "|".join(filter(None, [
            "(?:" + "|".join(whole) + r")(?![\w\-/\\]|\.\w)" if whole else "",
            "(?:" + "|".join(bare) + ")(?==)" if bare else ""]))
        pattern = re.compile(r"(?<![\w\-/.\\])(" + keys + ")")
    else:
        pattern = re.compile(r"(?<![\w\-/.\\])(" + "|".join(by_length)
                             + r")(?![\w\-/\\]|\.\w)")
    guarded = sorted({k for k in keep if k}, key=len, reverse=True)
    # a path as a whole word: --out a must not split weight_decay at its "a"
    # a quote opens after no letter: the apostrophe of "a sweep's" opens none
    placed = sorted({p for p in paths if p}, key=len, reverse=True)
    # (a count of repeats is a noun, not the flag: "the 3 repeats gave the very same curve")
    split = "|".join([r"(?<!\w)'[^']*'", r'(?<!\w)"[^"]*"', r"(?<![\w.])\d+ repeats(?!\w)",
                      *(rf"(?<!\w){re.escape(k)}(?!\w)" for k in guarded),
                      *(rf"(?<![\w/\\]){re.escape(p)}(?=[:/\\])" for p in placed),
                      *(rf"(?<![\w\-])--[a-z][\w\-]* {re.escape(p)}(?![\w/\\])" for p in placed)])
    parts = re.split(f"({split})", message)
    for i in range(0, len(parts), 2):  # the even parts are outside quotes and paths
        part = parts[i].replace("cycle_momentum=True (--cycle-momentum)", "--cycle-momentum")
        part = part.replace("(cycle_momentum=False)", "(--no-momentum)")
        parts[i] = pattern.sub(lambda m: names[m.group(1)], part)
    return "".join(parts)


def _find_lr_flags() -> dict[str, str]:
    """find-lr's flags by the library's names, as its own messages use them."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices["find-lr"].get_default("flag_names"))


def _flag_names(p: argparse.ArgumentParser, words: Iterable[str] = ()) -> dict[str, str]:
    """The library's name -> the flag, for a command's options whose name has an underscore
    (``start_lr``) or is in ``words``: a plain word (model, data) is prose as often as a name."""
    out = {}
    for action in p._actions:
        if action.option_strings and ("_" in action.dest or action.dest in words):
            out[action.dest] = max(action.option_strings, key=len)
    return out


# The formats a suffix of --out names; the plots are written in their suffix's format.
_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".png": "png", ".svg": "svg", ".pdf": "pdf"}
_PLOTS = ("png", "svg", "pdf")
_TEXT_SUFFIXES = ("", ".txt")  # CSV, the default, without --format
# Suffixes of other formats, which no --format makes true of a table or a plot (one of a
# text file, .dat, .log or .tsv, is the user's to choose with --format)
_OTHER_SUFFIXES = (".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".eps", ".ps",
                   ".xls", ".xlsx", ".parquet", ".npy", ".npz", ".pt", ".pkl", ".html",
                   ".htm", ".md", ".yaml", ".yml", ".toml", ".xml", ".zip", ".gz")


def _output_format(given: str | None, out: str | None) -> str:
    """``--format``, or the one ``--out``'s suffix names; a contradiction is an error, and so is
    a suffix that names no format without ``--format`` (``s.jpg``, ``s.tsv``): a file is never
    written in a format its name denies."""
    ending = folder_ending(out) if out else None
    if out and ending:
        suffix = {"ascii": "txt"}.get(given or "csv", given or "csv")
        folder = out if ending == "a separator" else out + os.sep
        raise ValueError(f"--out {out} ends with {ending}, so it names a folder; give a "
                         f"file, e.g. --out {folder}schedule.{suffix}")
    name = Path(out).name if out else ""
    suffix = name_suffix(name)
    implied = _SUFFIX_FORMATS.get(suffix)
    if given is not None and suffix in _OTHER_SUFFIXES:
        # its folder kept, its last suffix replaced (lr0.3.xlsx: lr0.3.csv), or dropped where
        # the name already ends in the format's (s.csv.gz: s.csv, not s.csv.csv)
        ext = ".txt" if given == "ascii" else f".{given}"
        stem = Path(name).stem
        fitting = Path(str(out)).with_name(
            stem if stem.lower().endswith(ext) else f"{stem or 'schedule'}{ext}")
        raise ValueError(f"--format {given} does not match --out {out}, a {suffix} file; name "
                         f"it {fitting}")
    if given is not None and implied is not None and given != implied:
        raise ValueError(f"--format {given} does not match --out {out}, a {suffix} file; change "
                         "one of them (without --format the suffix decides)")
    if given in _PLOTS and implied != given:
        raise ValueError(f"--format {given} needs --out FILE.{given}")
    if given is None and implied is None and suffix not in _TEXT_SUFFIXES:
        # (--format is no way out for the suffix of another format: refused above)
        raise ValueError(f"--out {out}: a {suffix} file names no format this command writes; "
                         "use a .csv, .json, .png, .svg or .pdf suffix"
                         + ("" if suffix in _OTHER_SUFFIXES else
                            ", or say the format with --format (csv, json or ascii)"))
    return given or implied or "csv"


# --- find-lr -----------------------------------------------------------------------------------


def _add_find_lr(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from superconverge._names import (
        DATASETS,
        MAX_IMAGE_SIZE,
        MAX_ITER,
        METHODS,
        MIN_POINTS,
        MODELS,
        OPTIMIZERS,
    )

    p = sub.add_parser(
        "find-lr",
        parents=[common],
        formatter_class=_DefaultsShown,
        help="LR range test: loss vs LR curve, a suggested LR and (base_lr, max_lr) bounds",
        description="Train one step per LR (one mini-batch, or --accumulation-steps of them; "
        "100 steps, 200 for cnn1d, 300-600 for ResNets) while the LR grows; write lr_find.json "
        "(lrs, losses, suggestion, bounds) and lr_find.png to --out. The model and optimizer "
        "are left as they were.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", choices=DATASETS, default="digits",
                     help="built-in offline dataset (mnist1d is generated once and cached, "
                     "1.6 MB, in $XDG_CACHE_HOME/superconverge, else ~/.cache/superconverge)")
    src.add_argument("--data", type=_path,
                     help="your data: .npz (arrays x, y), a .csv/.tsv/.txt/.data/.dat table "
                     "(label last) or a "
                     "folder of class sub-folders of images (of which only the steps x "
                     "accumulation steps x batch size x repeats (x processes) training images "
                     "the sweep can see, and --val-batches x batch size validation ones, are "
                     "decoded)")
    p.add_argument("--standardize", action="store_true", help="rescale the inputs to mean 0, "
                   "std 1 (training statistics), of --data or a built-in --dataset")
    d = p.add_argument_group("your data (--data)")
    d.add_argument("--val-fraction", type=_fraction, help="share of each class held out for "
                   "validation, which only --val-batches uses (default: 0, every example "
                   "trains; 0.2 with --val-batches)")
    d.add_argument("--target", help="table: the label column, by name or index (default: the "
                   "last)")
    d.add_argument("--delimiter", type=_delimiter, help="table: the field separator, one "
                   "character; '\\t' or tab for a tab, ' ' for runs of whitespace (default: by "
                   "the suffix: ',' for .csv, tab for .tsv, detected from the first line for "
                   ".txt)")
    hdr = d.add_mutually_exclusive_group()
    hdr.add_argument("--header", dest="header", action="store_true", default=None,
                     help="table: the first row names the columns (default: detected)")
    hdr.add_argument("--no-header", dest="header", action="store_false",
                     help="table: the first row is data")
    d.add_argument("--image-size", type=_at_least(1, MAX_IMAGE_SIZE),
                   help="images: resize to this many pixels square (default: 32)")
    d.add_argument("--grayscale", action="store_true", default=None,
                   help="images: one grey channel instead of RGB")
    p.add_argument("--model", choices=MODELS, help="default: chosen from the input shape")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="optimizer")
    p.add_argument("--batch-size", type=_at_least(1), default=64,
                   help="examples per batch (a step's, without --accumulation-steps)")
    p.add_argument("--accumulation-steps", type=_at_least(1), default=1,
                   help="batches a step, their gradients summed: a step of this many times "
                   "--batch-size examples, as a run that accumulates them trains")
    p.add_argument("--start-lr", type=float, default=1e-7, help="LR of the first step")
    p.add_argument("--end-lr", type=float, default=10.0, help="LR of the last step")
    p.add_argument("--num-iter", type=_at_least(MIN_POINTS, MAX_ITER),
                   help=f"optimizer steps in the sweep, {MIN_POINTS} to {MAX_ITER:,} (default: "
                   "100; 200 for cnn1d, 300 for resnet20/32, 600 for deeper ResNets, whose loss "
                   "needs longer to move)")
    p.add_argument("--mode", choices=("exp", "linear"), default="exp",
                   help="how the LR grows per step")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="SGD's and RMSprop's momentum, Adam's and AdamW's beta1")
    p.add_argument("--weight-decay", type=float, default=0.0, help="weight decay")
    p.add_argument("--max-grad-norm", type=float, help="clip the gradients to this total norm "
                   "before each step, as your training does (default: no clipping)")
    p.add_argument("--val-batches", type=_at_least(0), default=0,
                   help="score the loss of this many batches of held-out examples before each "
                   "step, forward only (the curves to compare across weight decays: plot --loss "
                   "val; the sweep takes longer)")
    p.add_argument("--repeats", type=_at_least(1, MAX_REPEATS), default=1,
                   help="tests with different seeds, to see how much the suggestion moves")
    p.add_argument("--seed", type=int, default=0, help="seed of the model, data and sweep")
    p.add_argument("--method", choices=METHODS, default="default", help="suggestion rule")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    p.add_argument("--threads", type=_at_least(1, _max_threads()), help="CPU threads of "
                   "torch's operations (default: torch's, one per core; at most 4 per CPU or 8, "
                   "whichever is more); 1 when other jobs share the cores: two runs side by side "
                   "on 2 cores took 1.36x longer with 2 threads each than with 1 "
                   "(benchmarks/cpu_threads.py), more with other load")
    p.add_argument("--amp", choices=("bf16", "fp16"), help="mixed precision: bf16 autocast, or "
                   "fp16 autocast with a GradScaler (steps it skips are not points)")
    p.add_argument("--out", default="runs/find-lr", type=_folder,
                   help="folder for lr_find.json and .png")
    # target and delimiter: the data flags whose names are no common words in the messages;
    # out, device and mode are ("out of range"): only as out=..., device=... and mode=...
    p.set_defaults(func=_run_find_lr, flag_names={
        **_flag_names(p, ("seed", "repeats", "momentum", "target", "delimiter")),
        "out=": "--out=", "device=": "--device=", "mode=": "--mode=", "model=": "--model=",
        "data=": "--data=", "header=False": "--no-header", "header=True": "--header",
        "standardize=True": "--standardize",
        "the batch size": "--batch-size",  # (the library's advice for a loader of the user's)
        # (the GradScaler's advice: the command sets no init_scale; a bug bash)
        "lower its init_scale or use bfloat16 autocast": "use --amp bf16",
        "lower the GradScaler's init_scale or use bfloat16 autocast": "use --amp bf16",
        "run it under bfloat16 autocast": "run it with --amp bf16"})


def _column(text: str | None) -> str | int | None:
    """A CSV column by index (an integer, negative counts from the end) or by name."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


# The loader option each find-lr flag sets (superconverge.recipes.common.FILE_OPTIONS).
_DATA_FLAGS = {
    "val_fraction": "--val-fraction", "target": "--target", "delimiter": "--delimiter",
    "header": "--header/--no-header", "size": "--image-size", "grayscale": "--grayscale",
}


def _data_options(args: argparse.Namespace) -> dict[str, object]:
    """The loader options of the --data flags given, checked against the kind of data, so that
    a misplaced flag is named as the user typed it, not by the library's option name."""
    from superconverge.recipes.common import FILE_OPTIONS, KIND_NAMES, data_kind

    options = {"val_fraction": args.val_fraction, "target": _column(args.target),
               "delimiter": args.delimiter, "header": args.header,
               "size": args.image_size, "grayscale": args.grayscale}
    given = [name for name, value in options.items() if value is not None]
    if not given:
        return options
    if not args.data:
        raise ValueError(f"{', '.join(_DATA_FLAGS[n] for n in given)}: only for your own data "
                         f"(--data), not for the built-in --dataset {args.dataset}")
    kind = data_kind(args.data)
    wrong = [name for name in given if name not in FILE_OPTIONS[kind]]
    if wrong:
        what = KIND_NAMES[kind]
        takes = ", ".join(_DATA_FLAGS[n] for n in FILE_OPTIONS[kind] if n in _DATA_FLAGS)
        raise ValueError(f"{', '.join(_DATA_FLAGS[n] for n in wrong)}: not for {what} "
                         f"({args.data}); it takes {takes}")
    return options


def _fraction(text: str) -> float:
    """A float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _run_find_lr(args: argparse.Namespace) -> int:
    # Signals held back while torch imports: torch imports numpy inside a try that swallows a
    # Ctrl-C, which then left numpy half-imported and the run going on to a traceback (torch
    # 2.13, Ctrl-C ~0.3 s after start)
    _import_torch_held()
    import torch

    threads = torch.get_num_threads()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    said = _SaidInReport()  # with -v, the log's lines that the report prints again
    loggers = [logging.getLogger(n) for n in said.said]
    for log in loggers:
        log.addFilter(said)
    try:
        # A SIGTERM (a job scheduler's time limit, kill) or a SIGHUP (a closed terminal) stops
        # the sweep as Ctrl-C does: the curve measured so far is kept in lr_find.partial.json,
        # and the exit status is 128 + the signal (143, 129).
        with sigterm_as_interrupt():
            return _find_lr(args)
    finally:
        torch.set_num_threads(threads)  # main() may be called in a process that goes on
        for log in loggers:
            log.removeFilter(said)


class _SaidInReport(logging.Filter):
    """Drops the library's log lines that find-lr's report says again (the stop, the files
    written), so that -v does not print each twice; the rest of the log goes out."""

    def __init__(self) -> None:
        super().__init__()
        from superconverge.finder.range_test import SUMMARY_LOG
        from superconverge.recipes.find_lr import WROTE_LOG

        self.said = {"superconverge.finder.range_test": SUMMARY_LOG,
                     "superconverge.recipes.find_lr": WROTE_LOG}

    def filter(self, record: logging.LogRecord) -> bool:
        return self.said.get(record.name) != record.msg


def _find_lr(args: argparse.Namespace) -> int:
    from superconverge.finder import is_main_process
    from superconverge.finder.plot import notes_worded
    from superconverge.recipes import find_lr
    from superconverge.recipes.distributed import torchrun_group

    # Under torchrun: one process a device, the loss averaged over them; rank 0 reports. The
    # plot's notes say the flags, as the printed warnings do.
    with torchrun_group(args.device) as device, notes_worded(
            lambda note: _in_flags(note, args, args.flag_names)):
        try:
            result = find_lr(
                dataset=None if args.data else args.dataset, data=args.data, model=args.model,
                optimizer=args.optimizer, batch_size=args.batch_size,
                accumulation_steps=args.accumulation_steps, start_lr=args.start_lr,
                end_lr=args.end_lr, num_iter=args.num_iter, mode=args.mode,
                momentum=args.momentum, weight_decay=args.weight_decay, repeats=args.repeats,
                val_batches=args.val_batches,
                seed=args.seed, method=args.method, out=args.out, progress=not args.quiet,
                device=device, amp=args.amp, standardize=args.standardize,
                max_grad_norm=args.max_grad_norm, data_options=_data_options(args),
            )
        except Exception as exc:
            if _unwritten(exc) and is_main_process():
                # The sweep finished, its files could not be written (a full disk): its
                # picks are printed all the same, before the error.
                _say("\n".join(_find_lr_report(exc.partial_result, args,  # type: ignore
                                                written=False)) + "\n", sys.stdout)
            raise
        main = is_main_process()
    if not main:
        return 0
    _say("\n".join(_find_lr_report(result, args)) + "\n", sys.stdout)
    return 0


def _find_lr_report(result: RangeTestResult, args: argparse.Namespace,
                    written: bool = True) -> list[str]:
    """What find-lr prints of a finished sweep: how it stopped, the picks, the warnings, the
    files and (unwarned) the next command; without the last two where its files could not be
    written."""
    import numpy as np

    from superconverge.finder.plot import _lr_digits, _setting
    from superconverge.schedules.policy import POLICIES, policy_parameters

    pick = result.suggest(args.method)
    base, top = result.bounds()
    # digits by the plot legend's rule, at least 3: more on a sweep under a decade (a user's
    # bug bash: 0.01 to 0.0102 printed base_lr 0.01, start_lr, where the legend read 0.010042)
    g = _lr_digits(np.asarray(result.lrs, dtype=float), least=3)
    config = result.config or {}
    # What ran, the optimizer and weight decay with it (a bug bash: runs at several weight
    # decays printed alike reports)
    what = f"{config.get('model')} on {config.get('data_name')}, " if all(
        isinstance(config.get(k), str) for k in ("model", "data_name")) else ""
    lines = [
        f"range test: {what}{_setting(config, result.provenance)}",
        f"stopped: {result.stop_summary()}",
        # "rule": a bare "(default)" read as the default LR, not the default rule
        f"suggested lr (rule: {pick.method}): "
        + (f"{pick.lr:.{g}g}  ({_in_flags(pick.reason, args, args.flag_names)})"
           if pick.lr is not None else f"none: {_in_flags(pick.reason, args, args.flag_names)}"),
    ]
    if base is not None and top is not None:
        # the div of the one-cycle policy the next command builds, not a copy of it
        div = policy_parameters("one-cycle")["div"]
        lines.append(f"bounds for CLR: base_lr {base:.{g}g}, max_lr {top:.{g}g}; a 1cycle peaks at "
                     f"max_lr and starts at max_lr / {div:g}")
    spread = result.spread(args.method)
    if spread is not None:
        # The repeats' own picks, named: the suggestion above is the mean curve's, which may
        # lie at another step, or outside them (a bug bash: "none, every repeat picks the same
        # step" beside a pick of 0.138 where all three picked 0.167).
        found = [p for p in result._repeat_picks(args.method) if p is not None]
        low, high = min(found), max(found)
        # 0 is no rounding: every repeat picked the same step of the sweep.
        said = (f"their own picks {low:.{g}g} to {high:.{g}g}, {spread:.2f} decades apart"
                if spread > 0 else f"none, every repeat's own pick is {low:.{g}g}")
        if pick.lr is not None and not low <= pick.lr <= high:
            said += (f"; the suggestion above, their mean curve's, lies "
                     f"{'below' if pick.lr < low else 'above'} "
                     f"{'them' if spread > 0 else 'it'}")
        counted = len(found)
        over = f"{counted} of {args.repeats}" if counted < args.repeats else f"{args.repeats}"
        lines.append(f"spread of the suggestion over {over} repeats: {said}")
    # The curve's warnings, and the pick's apart: the "next" line below reads the bounds, which
    # a pick below the sweep (minimum's) casts no doubt on (a review).
    of_curve = result.warnings(args.method, pick=False)
    below = result._pick_warning(args.method)
    warned = of_curve if below is None else [*of_curve, below]
    # in the command's words: --end-lr, not the library's end_lr
    lines += [f"warning: {_in_flags(w, args, args.flag_names)}" for w in warned]
    out = Path(args.out)
    if not written:
        return lines
    lines.append(f"wrote {out / 'lr_find.json'} and {out / 'lr_find.png'}")
    # What to do with it (a warning of the curve says what to do first).
    if top is not None and not of_curve:
        # "=": a path that starts with "-" is no flag there; the policies that read the pick
        # are not offered beside its warning (fixed, step-decay, cosine; a review)
        from superconverge.recipes.from_range_test import momentum_note, reads_suggestion
        from superconverge.schedules.policy import make_policy, policy_parameters

        names = [n for n in POLICIES if n != "one-cycle"
                 and not (below is not None and reads_suggestion(n))]
        others = ", ".join(names)
        # A test at a momentum well below a 1cycle's (--momentum 0) gets a 1cycle that keeps
        # it (a bug bash: the command given cycled 0.95 to 0.85 at a max_lr 6.7x too high)
        keep = momentum_note(result, make_policy("one-cycle", 1000, max_lr=top)) is not None
        if keep:  # (those without a momentum schedule take no --no-momentum: a review)
            cycling = [n for n in names if "cycle_momentum" in policy_parameters(n)]
            rest = [n for n in names if n not in cycling]
            others = ", ".join(cycling) + (f"; and, without --no-momentum, {', '.join(rest)}"
                                           if rest else "")
        lines += ["next, with N your run's optimizer steps:",
                  f"  {getattr(args, 'prog', 'superconverge')} schedule one-cycle "
                  f"{_from_lr_find(out / 'lr_find.json')} --steps N"
                  f"{' --no-momentum' if keep else ''}",
                  f"  (or, in place of one-cycle, any other policy: {others})"]
        if keep:
            lines.append(f"  (--no-momentum: the test ran at momentum {args.momentum:g}, and a "
                         "1cycle's cycle down to 0.85 would make its LRs' steps several times "
                         "larger; train at the test's momentum)")
    return lines


# --- entry point -------------------------------------------------------------------------------

def _labels(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated labels, none empty, none beginning with ``_`` (which
    matplotlib's legend leaves out)."""
    labels = tuple(s.strip() for s in text.split(","))
    if not all(labels):
        raise argparse.ArgumentTypeError(f"an empty label in {text!r}; give one a result, "
                                         "comma-separated")
    hidden = next((x for x in labels if x.startswith("_")), None)
    if hidden is not None:
        raise argparse.ArgumentTypeError(f"{hidden!r} begins with '_', which matplotlib's "
                                         "legend leaves out; name it otherwise")
    return labels


def _add_plot(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from superconverge._names import METHODS

    p = sub.add_parser(
        "plot",
        parents=[common],
        help="draw find-lr results: one as its plot() draws it, several overlaid on one axis",
        description="Draw find-lr results (an lr_find.json, or the folder holding it). One is "
        "drawn as its plot() draws it (its notes in the library's names); several are overlaid "
        "on one axis, each in a colour of its own with its pick, labelled by the settings that "
        "differ between them (the weight decays of a weight decay search by hand) or by "
        "--labels.",
    )
    p.add_argument("results", nargs="+", metavar="RESULT", type=_path,
                   help="a find-lr result: its lr_find.json (an lr_find.partial.json too), or "
                   "the folder holding lr_find.json")
    p.add_argument("--out", type=_path, required=True,
                   help="the image to write: .png, .svg or .pdf")
    p.add_argument("--method", choices=METHODS, help="the suggestion rule whose pick is marked "
                   "(default: each result's own)")
    p.add_argument("--labels", type=_labels, help="comma-separated, one a result (default: "
                   "the settings that differ between them, weight_decay=0.0001, ...)")
    p.add_argument("--loss", choices=("train", "val"), default="train",
                   help="the curves overlaid: the smoothed training loss, or the validation "
                   "loss of results that hold one (lr_range_test's with val_data)")
    # (no words of messages turned into flags: a RESULT folder named "method" was said as
    # --method, a final read; argparse and plot's own messages name the flags)
    p.set_defaults(func=_run_plot, flag_names={})


def _run_plot(args: argparse.Namespace) -> int:
    with sigterm_as_interrupt():  # (a stop while the image is written leaves no temporary file)
        _import_torch_held()
        return _plot(args)


def _plot(args: argparse.Namespace) -> int:
    from superconverge.finder.plot import plot_range_test, plot_range_tests
    from superconverge.finder.result import RangeTestResult

    out = Path(args.out)
    if args.out == "-" or name_suffix(out.name) not in {f".{s}" for s in _PLOTS}:
        raise ValueError(f"--out {args.out}: an image file is needed, named .png, .svg or .pdf")
    labels = args.labels
    if labels is not None and len(labels) != len(args.results):
        raise ValueError(f"--labels names {len(labels)} for {len(args.results)} "
                         f"result{'s' * (len(args.results) != 1)}; give one label a result")
    if labels is not None and len(set(labels)) < len(labels):
        twice = next(x for x in labels if labels.count(x) > 1)
        raise ValueError(f"--labels gives {twice!r} twice; give each result a label of its own")
    results = []
    for given in args.results:
        if given == "-":
            raise ValueError("RESULT -: plot reads files; name the lr_find.json")
        path = Path(given)
        if path.is_dir():  # (a newer stopped sweep said as schedule --from-lr-find says it)
            path = _finished_in(given, given, _as_argument, "drawn from", "to draw")
        results.append(RangeTestResult.from_json(path))
        if args.loss == "val" and results[-1].val_losses is None:  # (in the command's words)
            raise ValueError(f"--loss val: {given} holds no validation loss; run find-lr with "
                             "--val-batches N for it, or draw the training loss (--loss train)")
    if len(results) == 1 and labels is None and args.loss == "train":
        plot_range_test(results[0], out, method=args.method)
    else:
        # a "$" is text, not matplotlib's mathtext (a review: a paired, malformed one, "$^$",
        # failed the drawing in four lines)
        plot_range_tests({x.replace("$", r"\$"): r for x, r in zip(labels, results, strict=True)}
                         if labels else results, out, method=args.method, loss=args.loss)
    _say(f"wrote {args.out}\n", sys.stdout)
    return 0


COMMANDS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = [
    _add_schedule, _add_find_lr, _add_plot,
]


def _verbosity(default: object) -> argparse.ArgumentParser:
    """-q/-v, accepted before and after the command (``default`` SUPPRESS in the commands, so
    one given before the command is not reset by the command's parser)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="no progress bars (find-lr draws them; schedule has none)")
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="log what the library does")
    return p


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusals are one line (theirs print the usage block first), like
    the library's own; its sub-commands' parsers are of this class too. Its messages go out
    as :func:`_say` writes them (a closed stream, a path its encoding lacks)."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            try:
                _say(message, file if file is not None else sys.stderr)
            except (AttributeError, OSError, _ReaderLeft):  # as argparse's own: a full stream,
                pass  # a closed one, a reader that left

    argv: Sequence[str] = ()  # the command line being parsed, for the flags it mistyped
    top: _Parser | None = None  # the parser of the whole command line, which knows the commands

    def error(self, message: str) -> NoReturn:
        # "--stpes 3": the missing --steps is a symptom, and so is "invalid choice: '3'" where
        # the policy came last (argparse took the typo's value for it, a bug bash): name the
        # typo too
        # (not a command's name mistyped: the top parser knows no command's flags, a review)
        symptom = message.startswith("the following arguments are required") or (
            message.startswith("argument ") and ": invalid choice: " in message
            and not message.startswith("argument COMMAND:"))
        typos = [t for t in _Parser.argv if t.startswith("--") and self._unknown(t)
                 ] if symptom else []
        if self is _Parser.top:  # (a command's flag there is placed early, no typo: below)
            typos = [t for t in typos if all(not isinstance(c, _Parser) or c._unknown(t)
                                             for c in _commands(self).values())]
        if typos:
            message += f"; unrecognized: {' '.join(typos)}{self._near(typos)}"
        message += self._placed_early(message, self is _Parser.top, typos)
        # (under torchrun the ranks other than 0 say nothing of it: main)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    @staticmethod
    def _placed_early(message: str, whole: bool, told: Sequence[str] = ()) -> str:
        """``; --steps comes before the command ...`` where a command's flag was given before
        the command's name: argparse took its value for the command (``invalid choice:
        '10'``, the last note) or left it out (``--steps=10``: "required: --steps"). One the
        command does not know either is named as a typo, where the error is the ``whole``
        line's (a command's own errors name its typos); those in ``told`` it named already."""
        top = _Parser.top
        if top is None:
            return ""
        commands = _commands(top)
        # Where the command stands: its name, else the word argparse took for it (not the
        # flags after a mistyped name: "shedule --steps 10", a review)
        taken = re.match(r"argument COMMAND: invalid choice: '(.*?)' \(", message)
        argv = list(_Parser.argv)
        if "--" in argv:  # (what follows it is no flag, a review)
            argv = argv[:argv.index("--")]
        at = next((i for i, t in enumerate(argv) if t in commands), None)
        if at is None:
            at = argv.index(taken[1]) if taken and taken[1] in argv else len(argv)
        early = [t for t in argv[:at] if t.startswith("--") and top._unknown(t)
                 and t not in told]  # (told: the typos the message already names)
        named = commands.get(argv[at]) if at < len(argv) else None
        known = [t for t in early if any(isinstance(c, _Parser) and not c._unknown(t)
                                         for c in ([named] if named else commands.values()))]
        typos = [t for t in early if t not in known] if whole else []
        said = ""
        if typos:
            nearest = named if isinstance(named, _Parser) else top
            said += f"; unrecognized: {' '.join(typos)}{nearest._near(typos)}"
        if known:
            said += (f"; {' '.join(known)} {'comes' if len(known) == 1 else 'come'} before "
                     f"the command: a command's flags go after its name ({top.prog} "
                     f"{argv[at] if named else 'COMMAND'} "
                     f"{known[0].split('=', 1)[0]} ...)")
        return said

    def _flags(self) -> list[str]:
        return [f for a in self._actions for f in a.option_strings if f.startswith("--")]

    def _unknown(self, token: str) -> bool:
        """``token`` names none of this parser's flags, not even as an abbreviation."""
        name = token.split("=", 1)[0]
        return not any(f.startswith(name) for f in self._flags())

    def _policy(self) -> str | None:
        """The policy the command line names after ``schedule`` (None where it names none)."""
        from superconverge.schedules.policy import POLICIES

        argv = list(_Parser.argv)
        after = argv[argv.index("schedule") + 1:] if "schedule" in argv else []
        return next((t for t in after if t in POLICIES), None)

    def _near(self, tokens: Sequence[str]) -> str:
        """`` (did you mean --steps?)`` for the flags among ``tokens`` that have a near one: a
        torch scheduler's argument as a flag (``--max-momentum``) the one of ours it is (a bug
        bash: ``--no-momentum``, by spelling, where ``--high-momentum`` was meant)."""
        flags = self._flags()
        range_test = "--num-iter" in flags  # (find-lr's flags)
        policy = self._policy() if "--steps" in flags else None  # (schedule's)
        hints = []
        for t in tokens:
            if not t.startswith("--"):
                continue
            # (as torch spells them too: --max_momentum, --T-max; a review)
            name = t.split("=", 1)[0].replace("_", "-").lower()
            if (ours := _TORCH_NAMES.get(name)) in flags:
                if policy is not None and name not in _TORCH_NOTES and not _takes(policy, ours):
                    # (a bug bash: clr's --div-factor, pointed at --div, was then refused)
                    hints.append(f"{name} is torch's name of {ours}, which {policy} does not "
                                 "take")
                else:
                    hints.append(f"did you mean {ours}?{_TORCH_NOTES.get(name, '')}")
            elif range_test and name in _RANGE_TEST_NAMES:
                hints.append(f"did you mean {_RANGE_TEST_NAMES[name]}?")
            elif range_test and name in _UNFLAGGED:
                hints.append(f"{name}: {_UNFLAGGED[name]}")
            elif near := difflib.get_close_matches(name, flags, n=1, cutoff=0.75):
                hints.append(f"did you mean {near[0]}?")
        return f" ({'; '.join(hints)})" if hints else ""


def _takes(policy: str, flag: str) -> bool:
    """Whether schedule's ``policy`` takes ``flag`` (``--steps`` every one)."""
    from superconverge.schedules.policy import policy_parameters

    name = "cycle_momentum" if flag == "--no-momentum" else flag[2:].replace("-", "_")
    return flag == "--steps" or name in policy_parameters(policy)


#: torch's LR schedulers' arguments (OneCycleLR, CyclicLR, CosineAnnealingLR), written as flags,
#: -> the flag of ours that is the same setting.
_TORCH_NAMES = {
    "--max-momentum": "--high-momentum", "--base-momentum": "--low-momentum",
    "--div-factor": "--div", "--final-div-factor": "--final-div",
    "--pct-start": "--warmup-fraction", "--anneal-strategy": "--anneal",
    "--total-steps": "--steps", "--t-max": "--steps", "--eta-min": "--final-lr",
    "--step-size-up": "--step-size",
}

#: ... and the range tests' of torch-lr-finder, Lightning and fastai, for find-lr's flags alone
#: (a bug bash: --min-lr, Lightning's first LR, was "did you mean --end-lr?" by spelling; a
#: final read: schedule's --step-mode pointed at clr's --mode, a waveform)
_RANGE_TEST_NAMES = {
    "--min-lr": "--start-lr", "--max-lr": "--end-lr", "--num-training": "--num-iter",
    "--step-mode": "--mode", "--suggest-funcs": "--method",
}

#: The range tests' settings that find-lr has no flag for, and what sets them.
_STOP = ("find-lr stops where the smoothed loss passes 4 times its lowest, as fastai and "
         "Lightning do; lr_range_test(diverge_factor=...) sets it")
_UNFLAGGED = {
    "--diverge-th": _STOP, "--early-stop-threshold": _STOP, "--stop-div": _STOP,
    "--smooth-f": "find-lr smooths the loss with a bias-corrected EMA of beta 0.98; "
                  "lr_range_test(smooth_beta=...) sets it",
}

#: What a torch name's flag of ours is for, where that is not the whole story (a bug bash:
#: --pct-start pointed one-cycle, three phases, at a flag only the two-phase one takes).
_TORCH_NOTES = {
    "--pct-start": " (one-cycle-two-phase's: torch's default OneCycleLR; one-cycle is torch's "
                   "three_phase=True, and takes --annihilation-fraction = 1 - 2 x pct_start)",
}


def build_parser(prog: str = "superconverge") -> argparse.ArgumentParser:
    """The command line's parser; ``prog``, the command as its messages and the commands it
    prints name it (``python -m superconverge`` where the console script is not on PATH)."""
    parser = _Parser(
        prog=prog,
        description="LR range test, cyclical LRs and the 1cycle policy (Leslie N. Smith's recipe).",
        parents=[_verbosity(False)],
    )
    parser.set_defaults(prog=prog)
    parser.add_argument("--version", action="version", version=f"superconverge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _verbosity(argparse.SUPPRESS)
    for add in COMMANDS:
        add(sub, common)
    return parser


def _torchrun_rank() -> int | None:
    """This process's rank when ``torchrun`` started more than one (its ``RANK`` and
    ``WORLD_SIZE``), else ``None``; a malformed variable is ``torchrun_group``'s to refuse."""
    try:
        return int(os.environ["RANK"]) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    except (KeyError, ValueError):
        return None


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, except that a flag the command does not know is refused by the
    command's own parser (``superconverge find-lr: error: ...``, pointing at its --help, not
    the top level's, which lists no flag of it), with the nearest flag it has."""
    _Parser.argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.top = parser if isinstance(parser, _Parser) else None
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = _commands(parser)[args.command]
        assert isinstance(command, _Parser)
        # (no "did you mean" for a flag of the command's given before its name: it named
        # itself; the note of its place follows, a review)
        at = _Parser.argv.index(args.command) if args.command in _Parser.argv else 0
        typos = [t for t in extra if t not in _Parser.argv[:at] or command._unknown(t)]
        command.error(f"unrecognized arguments: {' '.join(extra)}{command._near(typos)}")
    return args


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each command (``find-lr``, ``schedule``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None, *, prog: str = "superconverge") -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``), named ``prog`` in its
    messages; the exit status. Arguments it cannot parse, ``--help`` and ``--version`` end in
    argparse's ``SystemExit`` (status 2, 0 and 0), as a command line does."""
    parser = build_parser(prog)  # imports no torch: --help and schedule start fast
    # Under torchrun every rank parses the same arguments: rank 0 alone says what is wrong
    # with them, and prints --help (a user's bug bash: each line came once per rank).
    ranked = _torchrun_rank()
    with contextlib.ExitStack() as quiet:
        if ranked:
            quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
            quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        args = _parse(parser, argv)
    # Under torchrun (find-lr, which joins the ranks) rank 0 speaks for all: the others log
    # and warn nothing, and their own errors say which rank they are.
    rank = ranked if args.command == "find-lr" else None
    if rank is None:
        return _run(parser, args, rank)
    try:
        return _run(parser, args, rank)
    except BaseException as exc:
        # A rank that failed has said so; it leaves now. Tearing down torch.distributed's
        # objects at exit can wait on a peer still inside a collective (seen: a rank that had
        # printed its error line still running 120 s later, in C code with no Python frame),
        # and torchrun's agent restarts or stops the group on this exit status anyway.
        if isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        else:
            # An error with no curve to keep (one in the first chunk of steps: no point is
            # recorded before the ranks share their losses): its traceback, every line tagged
            # by rank, rank 0's too, since all of them may print one (the others often the
            # connection the failed rank closed).
            said = "".join(traceback.format_exception(exc))
            sys.stderr.write("".join(f"[rank {rank}] {line}"
                                     for line in said.splitlines(keepends=True)))
            code = 1
        if code == 0:
            raise
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class _LogLines(logging.Formatter):
    """A log record as a line of the command's: ``warning: ...`` for a warning or worse (as
    a Python warning's line), another package's named (``matplotlib.font_manager: ...``)."""

    def __init__(self, tag: str) -> None:
        super().__init__("%(message)s")
        self.tag = tag

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if record.name != "superconverge" and not record.name.startswith("superconverge."):
            text = f"{record.name}: {text}"
        return f"{self.tag}{text}"


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, rank: int | None) -> int:
    """The command ``args`` names, its errors one line each (``main``'s body)."""
    tag = f"[rank {rank}] " if rank else ""
    # What logging.basicConfig does (nothing where the process set up logging already), undone
    # at the end: main() may be called in a process that goes on, and a second call's -v was
    # ignored, its logs going to the first call's stderr (a bug bash).
    # -v is our INFO lines, not every package's (a bug bash: matplotlib's "generated new
    # fontManager" came out as if the tool said it); a warning logged says so, as a Python
    # warning's line does, and another package's line names it.
    root, ours = logging.getLogger(), logging.getLogger("superconverge")
    handler, level, our_level = None, root.level, ours.level
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_LogLines(tag))
        root.addHandler(handler)
        root.setLevel(logging.ERROR if rank else logging.WARNING)
        if args.verbose and not rank:
            ours.setLevel(logging.INFO)
    formatted = warnings.formatwarning
    flags = getattr(args, "flag_names", {})

    def _format_warning(message: Warning | str, category: type[Warning], filename: str,
                        lineno: int, line: str | None = None) -> str:
        # the library's names as this command's flags (batch_size=500 -> --batch-size=500)
        return f"warning: {_in_flags(str(message), args, flags, assigned=True)}\n"

    # "warning: ..." lines, not file:line dumps; formatwarning, not showwarning, so that
    # warnings.catch_warnings(record=True) around main() still records them.
    warnings.formatwarning = _format_warning  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            if rank:
                warnings.simplefilter("ignore")  # rank 0 gives the same ones
            return int(args.func(args) or 0)
    except _ReaderLeft:
        # Quiet, as `seq 9 | head -1` is: no error line (stderr may be the same pipe), and
        # stdout pointed at /dev/null so that the flush at exit does not complain.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # what a shell reports for a process that SIGPIPE ended
    except _StreamFailed as exc:
        parser.exit(1, f"{tag}{parser.prog} {args.command}: error: {exc.strerror}\n")
    except TorchTooOld as exc:  # a command that trains imported torch, and it is too old
        print(f"{tag}{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        # A package a dataset needs, missing or broken (a --no-deps install): the message says
        # what to install, and a traceback would bury it.
        parser.exit(2, f"{tag}{parser.prog} {args.command}: error: {one_line(exc)}"
                       f"{_install_hint(exc)}\n")
    except (ValueError, TypeError, OSError) as exc:
        # Bad input, a file that cannot be read or written: one line naming what is wrong,
        # not a traceback (and where the curve measured before a failure mid-sweep went).
        flags = getattr(args, "flag_names", {})
        # An OSError's text is a path and the system's words; one of ours (no filename:
        # "out='x' is a file") names its argument as name=..., the only words changed there.
        if isinstance(exc, OSError):
            flags = {k: f for k, f in flags.items() if k.endswith("=")} if (
                exc.filename is None) else {}
        if isinstance(exc, _Worded):  # (its range-test words are not this command's flags)
            flags = {k: f for k, f in flags.items() if k.rstrip("=") not in _RANGE_TEST_WORDS}
        said = _in_flags(one_line(exc), args, flags) + _hint(exc, args)
        parser.exit(2, f"{tag}{parser.prog} {args.command}: error: {said}"
                       f"{_partial_note(exc, args)}\n")
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):  # SIGTERM, SIGHUP
            # an error it came after (under torchrun, the agent's SIGTERM once another rank
            # failed, while this one wrote the curve of its own error): named, not lost
            cause = exc.__cause__
            after = f" after {_error_named(cause)}" if isinstance(cause, Exception) else ""
            parser.exit(128 + exc.signum,
                        f"{tag}terminated ({exc.args[0]}){after}{_partial_note(exc, args)}\n")
        parser.exit(130, f"{tag}interrupted{_partial_note(exc, args)}\n")
    except Warning as exc:  # one of ours, made an error by -W error or PYTHONWARNINGS=error
        said = _in_flags(str(exc), args, getattr(args, "flag_names", {}), assigned=True)
        parser.exit(2, f"{tag}{parser.prog} {args.command}: error: {said} (a warning, which "
                       f"the warnings filter made an error){_partial_note(exc, args)}\n")
    except Exception as exc:
        # Anything else that stopped a sweep midway (out of memory, a corrupt batch): one line
        # naming it and where the curve measured so far went; a traceback where there is none.
        # (Under torchrun only rank 0 writes that curve; another rank's sweep stopped midway
        # just the same.)
        note = _partial_note(exc, args)
        if not note and not (rank and _measured(exc)):
            raise
        parser.exit(1, f"{tag}{parser.prog} {args.command}: {_error_named(exc)}{note}\n")
    finally:
        warnings.formatwarning = formatted
        if handler is not None:
            root.removeHandler(handler)
            root.setLevel(level)
            ours.setLevel(our_level)
    return 0


def _batch_note(config: Mapping[str, Any], provenance: Mapping[str, Any]) -> str:
    """The batch a range test's steps trained on, where its config says (find-lr's does): its
    LRs are that batch's (a bug bash: nothing said so where they are taken). Under torchrun a
    step is every process's batch, and a batch size past the data (a process's share) is all
    of it (a review: "batch size 5000" of steps of 1438), and a pass's short last batch that is
    1 step in a few is said (a bug bash: "batch size 1000" where every second step took 438)."""
    from superconverge._batches import (
        batches_a_pass,
        process_share,
        processes,
        repeats_examples,
        short_last_batch,
    )

    size, steps = config.get("batch_size"), config.get("accumulation_steps", 1)
    if not (type(size) is int and size > 0):
        return ""
    steps = steps if type(steps) is int and steps > 1 else 1
    world = processes(provenance)
    n = config.get("num_train")
    # (under torchrun find_lr gives every process n // world examples, the last n % world
    # left out, a review)
    share = process_share(n, world)
    used = world * share if share is not None else n
    if share is not None and size > share:
        more = ("" if world == 1 else
                f" than each of the {world} processes' share, {share}")  # (a review)
        at = f"steps of all {used} training examples (--batch-size {size} being more{more})"
        if steps > 1:
            at += f", {steps} batches accumulated a step"
    else:
        accumulated = f", {steps} batches accumulated a step" if steps > 1 else ""
        # A step of a pass's batches, its last short, is all the examples (a review: "steps of
        # 1800" of steps of 1600, 2 x (300 + 300 + 200))
        whole = (share is not None and steps > 1 and share % size > 1  # (1: dropped)
                 and steps == batches_a_pass(share, size))
        # (under torchrun a step is every process's batches: a review read "steps of 600" of
        # steps of 2 x 3 x 300)
        at = (f"batch size {size}{accumulated}" if world == 1 else
              f"steps of {used if whole else world * steps * size} examples ({world} processes x "
              + (f"{steps} batches x " if steps > 1 else "") + f"batch size {size})")
        if whole and world == 1:
            at += f" (each step a pass through all {n} examples)"
        short = short_last_batch(share, size, steps) if share is not None else None
        if short is not None:  # (as find_lr warns as it runs)
            at += f", 1 step in {short[1]} of {short[0]}{' a process' if world > 1 else ''}"
        if share is not None and repeats_examples(share, size, steps):
            # (find_lr warns of it as it runs: more batches a step than a pass holds)
            whose = "training examples" if world == 1 else "examples of each process's share"
            at += f" (more batches a step than the {share} {whose} make: some twice)"
    return f" (measured at {at}; for another batch size, run find-lr again at it)"


def _error_named(exc: BaseException) -> str:
    """An error as a line names it, ``"RuntimeError: out of memory"``; its name alone where it
    has no message (a bare ``MemoryError``: "MemoryError: ; ...", a bug bash, and after a
    SIGTERM, a final read)."""
    message = one_line(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _in_flags(message: str, args: argparse.Namespace, flags: Mapping[str, str],
              assigned: bool = False) -> str:
    """:func:`_as_flags` for the command ``args`` ran: the paths the user gave kept as typed,
    the names of LRs taken from a range test left alone."""
    typed = [str(getattr(args, k, None) or "") for k in ("out", "data", "from_lr_find")]
    # and as the library writes them (./seed=1.csv as seed=1.csv, ./target as target): kept
    # anywhere where that reads as a path (a suffix, a separator), else only where a path
    # stands, before its ":" or a separator (--out ./div kept "div" anywhere, and every --div
    # in the message went untranslated)
    written = ({str(Path(p)) for p in typed if p}
               | {str(Path(p).absolute()) for p in typed if p})
    pathlike = {w for w in {*written, *typed} if "." in w or "/" in w or os.sep in w}
    # A bare word typed as a path (--out end_lr, a folder) is kept only where a path stands
    # too: kept anywhere, it left "end_lr must be > --start-lr" untranslated. (The messages
    # that name a path mid-sentence name a file, with its suffix, or a subfolder.)
    return _as_flags(message, flags, getattr(args, "taken", ()), keep=sorted(pathlike),
                     assigned=assigned, paths={*written, *typed} - pathlike - {""})


def _hint(exc: BaseException, args: argparse.Namespace) -> str:
    """What to change, for an error of torch's whose words do not say it."""
    if "Expected more than 1 value per channel when training" in str(exc):
        # BatchNorm on a batch of one example whose feature map has shrunk to 1x1
        flag = "--batch-size" if args.command == "find-lr" else "the batch size"
        return (f" (a BatchNorm layer saw a single value per channel: one example on a 1x1 "
                f"feature map; raise {flag})")
    return ""


def _measured(exc: BaseException) -> bool:
    """Whether ``exc`` stopped a sweep that had measured points."""
    return bool(getattr(getattr(exc, "partial_result", None), "lrs", None))


def _unwritten(exc: BaseException) -> bool:
    """Whether ``exc`` came after a finished sweep, as its files were written (not a stop)."""
    whole = getattr(exc, "partial_result", None)
    if whole is None:
        return False
    from superconverge.finder.result import _CUT  # (torch is loaded: a sweep ran)

    return (isinstance(exc, Exception) and getattr(exc, "partial_path", None) is None
            and bool(whole.lrs) and whole.stop_reason not in _CUT)


def _partial_note(exc: BaseException, args: argparse.Namespace) -> str:
    """Where find-lr wrote the curve measured before ``exc`` stopped it, if this run did
    (an older run's file there is no news; under torchrun rank 0 writes it)."""
    if _unwritten(exc):
        curve = getattr(exc, "curve_path", None)  # (the JSON alone, where the pair failed)
        return ("; the sweep had ended: its picks are printed above, its curve is "
                + ("not written" if curve is None else f"written to {curve}, without the plot"))
    partial = getattr(exc, "partial_path", None)
    if not _measured(exc) or partial is None or not Path(partial).is_file():
        return ""
    cut = exc.partial_result  # type: ignore[attr-defined]
    plot = Path(partial).with_suffix(".png")
    # this stop's plot, not an older one a link there still shows (it failed, or was killed)
    drawn = " (and .png)" if plot.is_file() and not _newer(partial, plot) else ""
    from superconverge.finder.result import _CUT  # (torch is loaded: a sweep ran)

    # a stop that came as a finished sweep's files were written: the curve is whole
    which = ("the curve measured so far is" if cut.stop_reason in _CUT
             else "the sweep had ended; its curve is")
    # With repeats, say what the points are: the finished repeats' mean, not the cut sweep
    # (an audit: "294 points" of a run stopped in repeat 4, 103 steps in, said nothing of it).
    repeats = (f" ({cut.stop_summary()})" if cut.stop_reason in _CUT and cut.finished_repeats()
               else "")
    finished = Path(partial).with_name("lr_find.json")  # (a cut sweep writes none)
    earlier = (f"; the {finished.name} beside it is an earlier finished run's, which "
               f"schedule {_from_lr_find(finished.parent)} takes"
               if cut.stop_reason in _CUT and _newer(partial, finished) else "")
    return (f"; {which} in {partial}{drawn}: {len(cut.lrs)} "
            f"point{'s' if len(cut.lrs) != 1 else ''}, up to lr={cut.lrs[-1]:.3g}{repeats}"
            f"{earlier}")


def _finished_in(folder: str, named: str, passed: Callable[[Path], str], taken: str,
                 takes: str) -> Path:
    """The ``lr_find.json`` in ``folder`` (find-lr's ``--out``), said as ``named`` where it is
    missing; where only a stopped sweep's ``lr_find.partial.json`` is there, how to pass it
    (``passed``): taken when named, never in place of a whole one. A stopped one newer than
    it is noted on stderr, ``taken`` and ``takes`` the command's verbs (a user's bug bash: an
    Adam run stopped there, and the folder's SGD LRs were taken without a word)."""
    inside = Path(folder) / "lr_find.json"
    stopped = Path(folder) / "lr_find.partial.json"
    there = os.path.lexists(inside)
    if there and not inside.is_file():  # a link to nothing or to itself, a pipe: said
        # as such (a bug bash: "a folder without lr_find.json")
        raise not_a_file(inside, "the lr_find.json that find-lr wrote")
    if not there and stopped.is_file():
        raise ValueError(
            f"{named} is a folder without lr_find.json; it holds {stopped.name}, the curve of "
            f"a sweep that was stopped: pass {passed(stopped)} to use it, or run find-lr to "
            "its end")
    if not there:
        raise ValueError(f"{named} is a folder without lr_find.json; pass the lr_find.json "
                         "that find-lr wrote")
    if _newer(stopped, inside):
        _say(f"note: {folder} also holds {stopped.name}, from a later sweep that was stopped; "
             f"{taken} {inside.name}, the last finished run ({passed(stopped)} {takes} the "
             "stopped one)\n", sys.stderr)
    return inside


def _as_argument(path: Path) -> str:
    """``path`` as a shell takes it for a command's argument: quoted where it must be, and
    with ``./`` before a relative one that begins with ``-`` (a review: plot's advice to pass
    -lead/lr_find.partial.json was read as a flag)."""
    text = str(path)
    return shlex.quote(f".{os.sep}{text}" if text.startswith("-") else text)


def _from_lr_find(path: str | Path) -> str:
    """``--from-lr-find=PATH`` as a shell takes it: quoted where it must be, and with ``=``, so
    that a path beginning with ``-`` is not read as a flag (a bug bash: advice naming a path
    with a space did not run as printed)."""
    return f"--from-lr-find={shlex.quote(str(path))}"


_DEPENDENCIES = {"PIL": "pillow", "matplotlib": "matplotlib", "tqdm": "tqdm", "numpy": "numpy",
                 "sklearn": "scikit-learn", "mnist1d": "mnist1d", "torch": "torch"}
"""The packages superconverge needs, by the name they are imported by."""


def _install_hint(exc: ImportError) -> str:
    """What to install for a dependency's import that failed, where the error does not say
    (a bug bash: "No module named 'PIL'" named no package to install)."""
    name = (getattr(exc, "name", None) or "").partition(".")[0]
    if name not in _DEPENDENCIES or "pip install" in str(exc):
        return ""
    return (f"; superconverge needs the {_DEPENDENCIES[name]} package: pip install "
            f"{_DEPENDENCIES[name]}")


def _newer(path: str | Path, than: str | Path) -> bool:
    """Whether both files are there and ``path`` was written after ``than``."""
    try:
        return Path(path).stat().st_mtime_ns > Path(than).stat().st_mtime_ns
    except OSError:
        return False


if __name__ == "__main__":  # pragma: no cover
    # Run as a file (an IDE's "run this file"): Python put this folder first on sys.path, where
    # our superconverge/torch was then imported as torch (a bug bash: find-lr failed, "needs
    # the torch package: pip install torch" beside torch installed)
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    sys.exit(main())
