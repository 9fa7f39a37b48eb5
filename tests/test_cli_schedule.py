"""`superconverge schedule`: the CLI previews exactly what the library computes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import superconverge as sc
from superconverge.cli import main
from superconverge.schedules import make_policy

PROG = f"{os.path.basename(sys.executable)} -m superconverge"
"""How ``python -m superconverge`` names itself in its messages."""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_csv_matches_library(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "schedule", "one-cycle", "--max-lr", "1", "--steps", "100")
    rows = list(csv.DictReader(io.StringIO(out)))
    lr, mom = sc.one_cycle(1.0, 100), sc.one_cycle_momentum(100)
    assert len(rows) == 100
    assert [float(r["lr"]) for r in rows] == [lr(i) for i in range(100)]
    assert [float(r["momentum"]) for r in rows] == [mom(i) for i in range(100)]


def test_json_carries_the_schedule_definition(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "schedule", "clr", "--base-lr", "0.01", "--max-lr", "0.1",
              "--step-size", "5", "--mode", "triangular2", "--steps", "40", "--format", "json")
    doc = json.loads(out)
    rebuilt = sc.Schedule.from_dict(doc["lr_schedule"])
    assert [r["lr"] for r in doc["steps"]] == [rebuilt(i) for i in range(40)]
    assert doc["momentum_schedule"] is None


def test_clr_step_size_down_0_prints_a_sawtooth(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "schedule", "clr", "--base-lr", "0", "--max-lr", "1", "--step-size", "4",
              "--step-size-down", "0", "--steps", "9", "--format", "json")
    doc = json.loads(out)
    assert [r["lr"] for r in doc["steps"]] == [0, 0.25, 0.5, 0.75, 0, 0.25, 0.5, 0.75, 0]
    assert doc["lr_schedule"]["step_size_down"] == 0


def test_ascii_and_png(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    out = run(capsys, "schedule", "one-cycle-two-phase", "--max-lr", "0.5", "--steps", "60",
              "--format", "ascii")
    assert "*" in out and "momentum" in out
    png = tmp_path / "s.png"
    run(capsys, "schedule", "step-decay", "--lr", "0.1", "--steps", "50", "--format", "png",
        "--out", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_an_out_named_only_by_its_suffix_is_written_in_that_format(
        capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--out .png`` (pathlib reads the name as a stem without a suffix) is a PNG, not CSV
    under a name that says PNG."""
    monkeypatch.chdir(tmp_path)
    run(capsys, "schedule", "fixed", "--steps", "10", "--out", ".png")
    assert (tmp_path / ".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run(capsys, "schedule", "fixed", "--steps", "10", "--out", ".json")
    assert len(json.loads((tmp_path / ".json").read_text())["steps"]) == 10


@pytest.mark.parametrize("steps", range(8, 40))
def test_clr_default_step_size_ends_where_the_docs_say(
        capsys: pytest.CaptureFixture[str], steps: int) -> None:
    """``--steps // 4``: the last step is on base_lr at 4k + 1 steps, a step short of it when
    4 divides the steps, and one or two steps past it otherwise (docs/schedules.md)."""
    rows = list(csv.DictReader(io.StringIO(run(capsys, "schedule", "clr", "--steps", str(steps)))))
    size, last = steps // 4, float(rows[-1]["lr"])
    offset = {0: -1, 1: 0, 2: 1, 3: 2}[steps % 4]  # steps from base_lr, negative: before it
    assert last == pytest.approx(0.1 + abs(offset) / size * 0.9)


@pytest.mark.parametrize("out", [[], ["--out", "/dev/stdout"]])
def test_a_reader_that_left_ends_the_command_quietly(tmp_path, out) -> None:
    """``schedule ... | head -1`` where head has gone: no error line, the status a shell gives
    a process that SIGPIPE ended (141), as ``seq`` does; also through --out /dev/stdout."""
    if out and not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout here")
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first write
    try:
        done = subprocess.run([sys.executable, "-m", "superconverge", "schedule", "clr",
                               "--steps", "50", *out], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_a_sigterm_while_the_file_is_written_leaves_no_temporary_file(nameless_files,
                                                                       tmp_path) -> None:
    """A review: a SIGTERM (a job's time limit, kill) while --out was being written ended the
    process at once, and the hidden temporary file beside it stayed; now it stops as Ctrl-C
    does, nothing left, with the status 143. The plot is drawn in memory now, and its bytes go
    in at once: the command is held in the middle of them (half written) for the signal."""
    import signal
    import time

    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    held = tmp_path / "held"
    code = ("import os, sys, time\n"
            "real = os.write\n"
            "def write(fd, data):\n"
            "    if bytes(data[:4]) == b'\\x89PNG':  # the plot's bytes: half, then held\n"
            "        real(fd, data[:len(data) // 2])\n"
            f"        open({str(held)!r}, 'w').close()\n"
            "        time.sleep(120)\n"
            "    return real(fd, data)\n"
            "os.write = write\n"
            "from superconverge.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "schedule", "clr", "--steps", "1000",
                             "--out", str(tmp_path / "out" / "big.png")],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not held.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the bytes never went in"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (143, "terminated (SIGTERM)\n")
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_reader_that_leaves_midway_through_a_long_table_ends_it_quietly_too(fmt) -> None:
    """``schedule --steps 20000 | head -3``: the table, written in one piece, was cut short
    when head left, and the command ended 0 (the pipe took what it held, with no error),
    dropping the rest silently. As ``seq 100000 | head -3``: 141."""
    proc = subprocess.Popen([sys.executable, "-m", "superconverge", "schedule", "one-cycle",
                             "--steps", "20000", "--format", fmt], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(100)  # the reader takes a little, then leaves mid-table
    proc.stdout.close()
    assert first
    err = proc.stderr.read()
    assert (proc.wait(timeout=120), err) == (141, b"")


def star_rows(chart: str) -> list[int]:
    """The row of the star in each column of an ascii_chart (0 = top)."""
    rows = [line.split("|", 1)[1] for line in chart.splitlines() if "|" in line]
    return [next(r for r, row in enumerate(rows) if row[c] == "*") for c in range(len(rows[0]))]


@pytest.mark.parametrize("n", [2, 10, 71, 72, 73, 500])
def test_ascii_chart_draws_every_step_from_first_to_last(n: int) -> None:
    """A falling line goes from the top-left corner to the bottom-right one, short or long."""
    from superconverge.report.schedule_preview import ascii_chart

    rows = star_rows(ascii_chart([float(n - i) for i in range(n)], width=72, height=12))
    assert len(rows) == min(n, 72)
    assert rows[0] == 0 and rows[-1] == 11
    assert rows == sorted(rows)


def test_values_near_the_largest_float_chart_and_plots_refuse_them(tmp_path) -> None:
    """A span wider than a float holds (-1.7e308 to 1.7e308) failed in the chart with "cannot
    convert float NaN to integer", and in matplotlib with "arange: cannot compute length"."""
    from superconverge.report.schedule_preview import ascii_chart, plot_policy

    assert star_rows(ascii_chart([-1.7e308, 0.0, 1.7e308], height=3)) == [2, 1, 0]
    assert star_rows(ascii_chart([0, 5e-324, 1e-323, 1.5e-323], height=4)) == [3, 2, 1, 0]
    wide = sc.join([sc.constant(-1.7e308, 1), sc.constant(1.7e308, 1)])
    with pytest.raises(ValueError, match=r"values must be within ±1e\+307 to plot, got "
                                         r"an LR of -1.7e\+308 at step 0: the axis would "
                                         r"overflow a float"):
        plot_policy(wide, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
    plot_policy(sc.join([sc.constant(-8e306, 1), sc.constant(8e306, 1)]), tmp_path / "x.png")


def test_ascii_chart_of_a_fast_cycle_shows_its_whole_range_in_every_column() -> None:
    """Smith's CLR (step size 2000) over 70,000 steps is 17.5 cycles: one sampled value per
    column drew two slow false waves; each column now spans its steps' lowest to highest."""
    from superconverge.report.schedule_preview import ascii_chart

    lr = sc.cyclic(1e-3, 6e-3, 2000)
    chart = ascii_chart([lr(i) for i in range(70_000)], width=72, height=12)
    rows = [line.split("|", 1)[1] for line in chart.splitlines() if "|" in line]
    # Troughs at steps 0, 4000, ..., 68000 and peaks at 2000, ..., 66000, plus the last step,
    # 69999, one step short of one: each column spans 972 steps (half a ramp), and the bottom
    # and top rows are reached in 18 separate runs of columns each
    def runs(row: str) -> int:
        return sum(1 for c, ch in enumerate(row) if ch == "*" and (c == 0 or row[c - 1] != "*"))

    assert (runs(rows[0]), runs(rows[-1])) == (18, 18)
    assert all(sum(row[c] == "*" for row in rows) >= 4 for c in range(72))  # no gap in a ramp


def test_ascii_chart_footer_fits_a_short_chart() -> None:
    from superconverge.report.schedule_preview import ascii_chart

    footer = ascii_chart([3.0, 2.0, 1.0, 0.5, 0.25]).splitlines()[-1]
    assert footer.strip() == "steps 0-4"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["one-cycle", "--steps", "100", "--step-size", "3"],
         "does not take --step-size; it takes --anneal, --annihilation-fraction, "
         "--cycle-momentum/--no-momentum, --div"),
        (["one-cycle", "--steps", "100", "--max-lr", "-1"], "--max-lr must be > 0, got -1"),
        (["one-cycle", "--steps", "2"], "--steps=2 is too small"),
        (["clr", "--steps", "10", "--base-lr", "1", "--max-lr", "0.1"],
         "--base-lr must be <= --max-lr, got --base-lr=1.0 > --max-lr=0.1"),
        (["fixed", "--steps", "10", "--format", "png"], "needs --out"),
        (["fixed", "--steps", "10", "--format", "png", "--out", "p.svg"],
         "--format png does not match --out p.svg"),
        (["fixed", "--steps", "10", "--format", "svg", "--out", "p.png"],
         "--format svg does not match --out p.png"),
        (["fixed", "--steps", "10", "--format", "pdf", "--out", "p.txt"], "needs --out FILE.pdf"),
        # CSV text in a file named .svg or .jpg used to be written, exit 0
        (["fixed", "--steps", "10", "--out", "p.jpg"],
         "--out p.jpg: a .jpg file names no format this command writes"),
        (["fixed", "--steps", "10", "--method", "valley"], "needs --from-lr-find"),
        (["fixed", "--steps", "10", "--from-lr-find", "nowhere.json"],
         "nowhere.json: No such file or directory"),
        (["fixed", "--steps", "10", "--from-lr-find", "."],
         "--from-lr-find . is a folder without lr_find.json"),
        # (an audit: CSV text was written into s.jpg when --format said csv)
        (["fixed", "--steps", "10", "--format", "csv", "--out", "s.jpg"],
         "--format csv does not match --out s.jpg, a .jpg file; name it s.csv"),
        (["fixed", "--steps", "10", "--format", "ascii", "--out", "s.xlsx"],
         "--format ascii does not match --out s.xlsx, a .xlsx file; name it s.txt"),
        # (a review: s.csv.csv, and the folder dropped)
        (["fixed", "--steps", "10", "--format", "csv", "--out", "runs/s.csv.gz"],
         "--format csv does not match --out runs/s.csv.gz, a .gz file; name it runs/s.csv"),
        (["fixed", "--steps", "10", "--format", "csv", "--out", "runs/lr0.3.xlsx"],
         "name it runs/lr0.3.csv"),
        # (a review: told to say --format, which is refused for that suffix)
        (["fixed", "--steps", "10", "--out", "s.png.jpg"],
         "--out s.png.jpg: a .jpg file names no format this command writes; use a .csv, .json, "
         ".png, .svg or .pdf suffix\n"),
        (["fixed", "--steps", "10", "--out", "s.dat"],
         "use a .csv, .json, .png, .svg or .pdf suffix, or say the format with --format"),
        # (an audit: argparse's bare "invalid int value: '1e2'", no range)
        (["clr", "--steps", "10", "--step-size", "1e2"],
         "argument --step-size: expected a whole number, got '1e2'"),
        (["clr", "--steps", "10", "--step-size-down", "-1"],
         "argument --step-size-down: must be >= 0, got -1"),
        (["fixed", "--steps", "10", "--out", "."],
         "--out . ends with '.', so it names a folder; give a file, e.g. --out ./schedule.csv"),
        (["fixed", "--steps", "10", "--out", "/proc/no/x.csv"], "cannot write /proc/no/x.csv"),
        (["cosine", "--steps", "4", "--max-lr", "1", "--final-lr", "-1"],
         "--final-lr must be >= 0"),
        (["cosine", "--steps", "4", "--max-lr", "0.1", "--final-lr", "5"],
         "--final-lr must be <= --max-lr"),
        (["step-decay", "--steps", "100", "--milestones", "0.5,1.0"],
         "milestones [0.5, 1.0] are steps [50, 1] of a 100-step run"),
        (["step-decay", "--steps", "100", "--milestones=-1"], "got -1 in [-1]"),
        # a whole step is echoed as given (it read [0.5, 100.0])
        (["step-decay", "--steps", "250", "--milestones", "0.5,100"],
         "no room for the 2 --milestones [0.5, 100]: "),
        (["step-decay", "--steps", "250", "--milestones", "0.5,1_000"],
         "no room for the 2 --milestones [0.5, 1000]: "),
        # (a review: past Python's 4300 digits for an int, "expected comma-separated numbers")
        (["step-decay", "--steps", "250", "--milestones", "0.5," + "9" * 5000],
         "--milestones must be finite, got inf"),
        (["step-decay", "--steps", "100", "--milestones", "1.5"], "whole steps >= 1, got 1.5"),
        (["one-cycle", "--steps", "0"], "argument --steps: must be >= 1, got 0 (see "
         "superconverge schedule --help)"),
        (["fixed", "--steps", "1000000000"], "--steps must be <= 1,000,000 for csv, one row "
         "per step (a plot, --out FILE.png, or --format ascii draws runs of up to 10,000,000 "
         "steps), got 1,000,000,000"),
        (["fixed", "--steps", "1000000000", "--format", "ascii"], "--steps must be <= "
         "10,000,000 for ascii, got 1,000,000,000"),
        # a table's own cap (a bug bash: a plot of 2 million steps was refused, "one row per
        # step")
        (["fixed", "--steps", "2000000"], "--steps must be <= 1,000,000 for csv, one row per "
         "step (a plot"),
        # an unset shell variable: the default LR was used without a word, or stdout
        (["fixed", "--steps", "10", "--from-lr-find", ""], "argument --from-lr-find: an empty"),
        (["fixed", "--steps", "10", "--out", ""], "argument --out: an empty path"),
        (["fixed", "--steps", "10", "--out", "-", "--format", "png"],
         "--out - is stdout, which takes csv, json or ascii; write the png plot to a file: "
         "--out FILE.png"),
        (["step-decay", "--steps", "4", "--milestones", ""],
         "argument --milestones: expected comma-separated numbers, got '' (an empty item)"),
        (["step-decay", "--steps", "4", "--milestones", ","],
         "argument --milestones: expected comma-separated numbers, got ','"),
        # an empty item ("0.5,$UNSET") was dropped: one milestone fewer, without a word
        (["step-decay", "--steps", "40", "--milestones", "0.5,,0.75"],
         "argument --milestones: expected comma-separated numbers, got '0.5,,0.75' (an empty "
         "item)"),
        (["step-decay", "--steps", "40", "--milestones", "0.5,"],
         "argument --milestones: expected comma-separated numbers, got '0.5,' (an empty item)"),
        (["step-decay", "--steps", "4", "--milestones", "0.5,half"],
         "argument --milestones: expected comma-separated numbers, got '0.5,half'"),
        # the default milestones need 3 steps, and the message says they are the default
        # (the default milestones need 4 steps: they said 3, which they refused in turn, as
        # 0.5 and 0.75 of 3 steps are both step 2)
        (["step-decay", "--steps", "1"], "a 1-step run has no room for the 2 --milestones "
         "[0.5, 0.75] (the default): each is a step of its own after the first and up to the "
         "last (a fraction rounded to its nearest step), so step-decay needs --steps >= 4"),
        (["step-decay", "--steps", "3"], "a 3-step run has no room for the 2 --milestones "
         "[0.5, 0.75] (the default): each is a step of its own after the first and up to the "
         "last (a fraction rounded to its nearest step), so step-decay needs --steps >= 4"),
        (["step-decay", "--steps", "100", "--milestones", "0.5,0.501"], "a 100-step run has "
         "no room for the 2 --milestones [0.5, 0.501]: each is a step of its own after the "
         "first and up to the last (a fraction rounded to its nearest step), so step-decay "
         "fits every --steps >= 1000"),
        (["step-decay", "--steps", "100", "--milestones", "0.6,0.5"], "--milestones [0.6, 0.5] "
         "are steps [60, 50] of a 100-step run; they must be increasing steps within 1..99"),
        (["step-decay", "--steps", "10", "--milestones", "1e300"],
         "--milestones [1e+300] are steps [1e+300] of a 10-step run; they must be increasing"),
        # names after a slash are flags too
        (["one-cycle-two-phase", "--steps", "5", "--warmup-fraction", "1e-12"],
         "use --warmup-fraction > 1 / --steps = 0.2"),
        (["one-cycle-two-phase", "--steps", "1", "--warmup-fraction", "1e-320"],
         "(1 / --warmup-fraction overflows)"),
        # scale_fn has no flag: not named where it was not given
        (["clr", "--steps", "10", "--gamma", "0.5"], "error: --gamma=0.5 is used by "
         "--mode='exp_range' only, got --mode='triangular'; drop --gamma"),
        # a trailing separator names a folder, whatever is there
        (["fixed", "--steps", "10", "--out", "nowhere/"], "--out nowhere/ ends with a "
         "separator, so it names a folder; give a file, e.g. --out nowhere/schedule.csv"),
        (["fixed", "--steps", "3", "--format", "png", "--out", "nowhere/"],
         "give a file, e.g. --out nowhere/schedule.png"),
        (["fixed", "--steps", "3", "--out", "nowhere/."], "--out nowhere/. ends with '.', so it "
         "names a folder; give a file, e.g. --out nowhere/./schedule.csv"),
        # an --out written as ./NAME, NAME a flag's too: the flag is still named (review:
        # the path as the library writes it, "div", was kept from translation everywhere)
        (["one-cycle", "--steps", "100", "--div", "0", "--out", "./div"],
         "--div must be >= 1 (lower bound = --max-lr / --div), got 0.0"),
        # whole-step milestones need the run to reach them
        (["step-decay", "--steps", "2", "--milestones", "50,60"], "a 2-step run has no room "
         "for the 2 --milestones [50, 60]: each is a step of its own after the first and "
         "up to the last, so step-decay needs --steps >= 61"),
        # a milestone no --steps reaches (a bug bash: "fits every --steps >= 2000001", which
        # --steps then refused); 999999 still fits --steps 1000000, and the library says so
        (["step-decay", "--steps", "100", "--milestones", "2000000"], "--milestones 2000000 "
         "is a step at or past 1,000,000, the most --steps takes for csv, so no run this command "
         "shows as csv has room for it (a plot, --out FILE.png, or --format ascii draws runs "
         "of up to 10,000,000 steps); give fractions"),
        # (the note only where every such milestone fits a plot, a review)
        (["step-decay", "--steps", "100", "--milestones", "2000000,20000000"], "the most "
         "--steps takes for csv, so no run this command shows as csv has room for it; give "
         "fractions"),
        (["step-decay", "--steps", "100", "--milestones", "20000000", "--format", "ascii"],
         "--milestones 20000000 is a step at or past 10,000,000, the most --steps takes for "
         "ascii, so no run this command shows as ascii has room for it; give fractions"),
        (["step-decay", "--steps", "100", "--milestones", "0.5,1e6"], "--milestones 1000000 "
         "is a step at or past 1,000,000"),
        (["step-decay", "--steps", "100", "--milestones", "999999"], "fits every --steps >= "
         "1000000"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["schedule", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "Errno" not in err
    assert err.count("\n") == 1


def test_a_bare_schedule_previews_as_an_lr(tmp_path) -> None:
    from superconverge.report.schedule_preview import ascii_chart, plot_policy, render_policy

    s = sc.one_cycle(1.0, 10)
    assert render_policy(s).splitlines()[:2] == ["step,lr", f"0,{s(0)!r}"]
    assert plot_policy(s, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(TypeError, match="policy must be a Policy"):
        render_policy([0.1, 0.2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="height must be >= 2, got 0"):
        ascii_chart([1.0, 2.0], height=0)
    with pytest.raises(ValueError, match="values must be finite"):
        ascii_chart([1.0, float("nan")])
    # any iterable of numbers, and numpy's ints for the sizes (an array was numpy's "truth
    # value is ambiguous", a generator "has no len()", np.int64(10) "must be an int")
    import numpy as np

    values = [s(i) for i in range(10)]
    chart = ascii_chart(values, width=10)
    assert ascii_chart(np.array(values), width=np.int64(10)) == chart
    assert ascii_chart(iter(values), width=10) == chart
    with pytest.raises(TypeError, match="values must be an iterable of numbers, got str"):
        ascii_chart("1,2,3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="width must be an int"):
        ascii_chart(values, width=2.5)  # type: ignore[arg-type]
    assert ascii_chart([]) == "(no values)"
    with pytest.raises(ValueError, match="fmt must be one of 'csv', 'json', 'ascii' for text; "
                                         "got 'png'"):
        render_policy(s, fmt="png")


def test_an_lr_of_zero_throughout_is_drawn_on_a_linear_axis() -> None:
    """No log axis for a schedule with no LR above 0 (a log axis has nowhere to put it)."""
    from matplotlib.figure import Figure

    from superconverge.report.schedule_preview import draw_policy

    ax = draw_policy(Figure().add_subplot(), sc.schedules.constant(0.0, 10))
    assert ax.get_yscale() == "linear"
    low, high = ax.get_ylim()
    assert low < 0 < high


def test_plot_titles_say_what_the_schedule_is() -> None:
    from superconverge.report.schedule_preview import _as_policy, _title

    assert _title(_as_policy(sc.cyclic(0.1, 1, 5, mode="triangular2"))) == "Cyclic (triangular2)"
    assert _title(make_policy("cosine", 10)) == "cosine"
    assert _title(make_policy("clr", 10, base_lr=0.1, max_lr=1, step_size=3)) == "clr (triangular)"
    assert _title(make_policy("one-cycle", 10, max_lr=1)) == "one-cycle"


def test_a_schedule_plot_shows_what_a_linear_axis_would_hide() -> None:
    """A step decay to 1e-5 on a linear axis showed its last drops as 0; a 10-step run was a
    ramp between steps it never takes; a 1-step run drew nothing on an axis from -0.05."""
    from matplotlib.figure import Figure

    from superconverge.report.schedule_preview import draw_policy

    def draw(policy):
        return draw_policy(Figure().add_subplot(), policy)

    decay = draw(make_policy("step-decay", 1000, lr=0.1, milestones=(0.3, 0.5, 0.7, 0.9)))
    assert decay.get_yscale() == "log"
    assert "max 0.1 at step 0, 1e-05 at step 999" in decay.get_title()
    one = draw(make_policy("one-cycle", 2000, max_lr=1.0))
    assert one.get_yscale() == "linear"  # the familiar triangle; the final LR is in the title
    assert "max 1 at step 899" in one.get_title() and "0.001 at step 1999" in one.get_title()
    assert draw(make_policy("cosine", 100, max_lr=0.1)).get_yscale() == "linear"  # ends at 0
    short = draw(make_policy("step-decay", 10, lr=0.1))
    held, dots = short.lines[:2]
    assert held.get_drawstyle() == "steps-post" and dots.get_marker() == "."
    assert all(float(t).is_integer() for t in short.get_xticks())
    single = draw(make_policy("fixed", 1, lr=0.1))
    assert single.get_xlim() == (-1, 2) and single.lines[1].get_marker() == "."
    assert draw(make_policy("fixed", 1000, lr=0.1)).lines[0].get_drawstyle() == "default"


def test_a_run_longer_than_a_table_takes_is_drawn(tmp_path, capsys) -> None:
    """Up to 10 million steps for a plot or ascii, milestones past a table's million too (a bug
    bash: a 2-million-step run was refused in every format, "one row per step")."""
    argv = ["schedule", "step-decay", "--steps", "2000000", "--lr", "0.1", "--milestones",
            "1500000"]
    assert main([*argv, "--format", "ascii"]) == 0
    chart = capsys.readouterr().out
    assert "step 0" in chart and "1999999" in chart
    assert main([*argv, "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("steps", "step_size", "points"), [(8000, 3, 501), (1500, 2, 167),
                                                          (8000, 15, 132)])
def test_a_fast_cycle_s_momentum_is_drawn_as_its_band_s_edges(steps, step_size, points) -> None:
    """Fast cycles fill both bands: the momentum's twin axis, drawn over the LR's, hid the LR
    whole (a bug bash). The momentum's band is drawn by its edges, and the caller's Axes keep
    their order and background (a review: lifting the LR's axes over the twin buried what a
    caller drew on it). Edges of two cycles a stretch at least: a stretch shorter than a
    cycle gave edges that zigzag across the band (a review: 1500 steps of a 4-step cycle)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure

    from superconverge.report.schedule_preview import draw_policy

    fig = Figure(figsize=(6, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(facecolor="#f0f0e0")
    draw_policy(ax, make_policy("clr", steps, base_lr=0.01, max_lr=0.1, step_size=step_size,
                                cycle_momentum=True))
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255

    def share(color: str) -> float:
        return float((np.abs(pixels - to_rgb(color)).max(axis=-1) < 0.02).mean())

    assert share("C0") > 0.2 > share("C1")  # the LR's band, within the momentum's edges
    assert share("#f0f0e0") > 0.01  # the caller's background still shows
    assert ax.get_zorder() == 0 and ax.patch.get_visible()
    twin = fig.axes[1]
    assert [len(line.get_xdata()) for line in twin.lines] == [points, points]
    assert twin.lines[0].get_ydata().min() == pytest.approx(0.95)  # the top edge, flat
    assert twin.lines[1].get_ydata().max() == pytest.approx(0.85)  # the bottom edge, flat
    # a slow cycle's momentum is one line, as its LR is
    slow = draw_policy(Figure().add_subplot(), make_policy(
        "clr", 20000, base_lr=0.01, max_lr=0.1, step_size=2000, cycle_momentum=True))
    assert len(slow.figure.axes[1].lines) == 1


def test_a_warm_up_from_0_before_a_step_decay_gets_a_symlog_axis() -> None:
    from matplotlib.figure import Figure

    from superconverge.report.schedule_preview import draw_policy

    lr = sc.join([sc.linear(0.0, 0.1, 10), sc.step_decay(0.1, (300, 500, 700, 900), 0.1)])
    ax = draw_policy(Figure().add_subplot(), lr, steps=1000)
    assert ax.get_yscale() == "symlog"
    # a decay that underflows to 1e-300 and then 0: the axis took its linear part from 1e-300,
    # a plot of ±1e-3 with the schedule off it (an audit); now 12 decades below the top
    under = draw_policy(Figure().add_subplot(), sc.step_decay(0.1, (10, 20, 30, 40), 1e-100), 60)
    assert under.get_yscale() == "symlog"
    assert under.get_yaxis().get_transform().linthresh == pytest.approx(0.1 * 1e-12)
    low, high = under.get_ylim()
    assert low == 0 and high >= 0.1


def test_from_lr_find_says_which_lrs_it_took(tmp_path, capsys) -> None:
    from test_from_range_test import VALLEY

    VALLEY.to_json(tmp_path / "lr_find.json")
    assert main(["schedule", "clr", "--steps", "100", "--step-size", "10", "--max-lr", "0.5",
                 "--from-lr-find", str(tmp_path / "lr_find.json")]) == 0
    err = capsys.readouterr().err
    assert f"from {tmp_path / 'lr_find.json'}: base_lr {VALLEY.bounds()[0]:.4g}\n" in err
    assert "max_lr" not in err  # given, not taken


def test_from_lr_find_dash_reads_the_result_from_stdin(tmp_path) -> None:
    """The last note: ``--from-lr-find -`` read a file named "-", not stdin as ``--out -``
    writes stdout. A terminal or a closed stdin is refused, rather than waited on."""
    from test_from_range_test import VALLEY

    VALLEY.to_json(tmp_path / "lr_find.json")
    (tmp_path / "-").write_text("not this one")  # stdin all the same, as --out - is stdout
    argv = [sys.executable, "-m", "superconverge", "schedule", "one-cycle", "--steps", "5",
            "--from-lr-find", "-"]
    with open(tmp_path / "lr_find.json", "rb") as piped:
        done = subprocess.run(argv, stdin=piped, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"from stdin: max_lr {VALLEY.bounds()[1]:.4g}\n" in done.stderr
    with open(tmp_path / "lr_find.json") as f:
        direct = subprocess.run([*argv[:-1], f.name], capture_output=True, text=True)
    assert done.stdout == direct.stdout and done.stdout.startswith("step,lr,momentum\n")
    for stdin, said in ((subprocess.DEVNULL, "<stdin> is not a valid range-test result"),
                        (None, "reads the result from stdin, which is closed")):
        kept = {} if stdin is not None else {"preexec_fn": lambda: os.close(0)}
        bad = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, cwd=tmp_path,
                             **kept)  # type: ignore[call-overload]
        assert bad.returncode == 2 and said in bad.stderr, bad.stderr


def test_from_lr_find_dash_reads_a_text_stdin_with_no_bytes_beneath(tmp_path, monkeypatch,
                                                                    capsys) -> None:
    """A review: sys.stdin replaced by a text stream (a notebook's, a harness's), which has
    no .buffer, ended in an AttributeError's traceback."""
    from test_from_range_test import VALLEY

    VALLEY.to_json(tmp_path / "lr_find.json")
    monkeypatch.setattr(sys, "stdin", io.StringIO((tmp_path / "lr_find.json").read_text()))
    assert main(["schedule", "one-cycle", "--steps", "5", "--from-lr-find", "-"]) == 0
    assert capsys.readouterr().out.startswith("step,lr,momentum\n")


def test_from_lr_find_dash_refuses_a_terminal(monkeypatch, capsys) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(SystemExit) as exc:
        main(["schedule", "one-cycle", "--steps", "5", "--from-lr-find", "-"])
    assert exc.value.code == 2
    assert ("--from-lr-find - reads the result from stdin, which is a terminal; pipe it in "
            "(--from-lr-find - < lr_find.json)") in capsys.readouterr().err


def test_from_lr_find_says_the_lrs_are_group_0s_where_groups_swept_at_ratios(
        tmp_path, capsys) -> None:
    """A bug bash: a sweep of groups at 1e-5 and 1e-3 gave group 0's LRs, unsaid."""
    import dataclasses

    from test_from_range_test import VALLEY

    for ratios, said in (([1.0, 100.0], " (param group 0's: the sweep ran its 2 groups at "
                          "ratios 1, 100 to it, which a ParamScheduler keeps)\n"),
                         ([1.0, 1.0], "\n"),
                         # (a review: a float's rounding apart, "ratios 1, 1"; a hand-edited
                         # file's strings, nulls and huge ints failed the command)
                         ([1.0, 1.0000000000000002], "\n"), ([1, "0.1"], "\n"),
                         ([1, None], "\n"), ([1, 10**400], "\n")):
        swept = dataclasses.replace(VALLEY, config={"param_group_ratios": ratios})
        swept.to_json(tmp_path / "lr_find.json")
        assert main(["schedule", "one-cycle", "--steps", "100", "--from-lr-find",
                     str(tmp_path / "lr_find.json")]) == 0
        err = capsys.readouterr().err
        assert f"lr_find.json: max_lr {VALLEY.bounds()[1]:.4g}{said}" in err


def test_from_lr_find_names_the_batch_size_the_lrs_were_measured_at(tmp_path, capsys) -> None:
    """A bug bash: a pick is the batch size's it ran at, and nothing said so where it is taken
    (find-lr records --batch-size; lr_range_test's own config has none)."""
    import dataclasses

    from test_from_range_test import VALLEY

    for config, world, said in (
            ({"batch_size": 32}, 1, " (measured at batch size 32; for another batch size, run "
                                    "find-lr again at it)\n"),
            ({"batch_size": 32, "accumulation_steps": 4}, 1,
             " (measured at batch size 32, 4 batches accumulated a step; "),
            ({"batch_size": 32, "accumulation_steps": 1}, 1, " (measured at batch size 32; "),
            # (a review: under torchrun a step is every process's batch; a batch size past
            # the data, all of it)
            ({"batch_size": 32, "num_train": 1438}, 2,
             " (measured at steps of 64 examples (2 processes x batch size 32); "),
            ({"batch_size": 5000, "num_train": 1438}, 1,
             " (measured at steps of all 1438 training examples (--batch-size 5000 being "
             "more); "),
            ({"batch_size": 1000, "num_train": 1438}, 2, " (measured at steps of all 1438 "
             "training examples (--batch-size 1000 being more than each of the 2 processes' "
             "share, 719); "),
            # (a review: the last n % world are left out, 1 of 301 over 2)
            ({"batch_size": 500, "num_train": 301}, 2, " (measured at steps of all 300 "
             "training examples (--batch-size 500 being more than each of the 2 processes' "
             "share, 150); "),
            ({"batch_size": 300, "num_train": 2003, "accumulation_steps": 4}, 2,
             " (measured at steps of 2002 examples (2 processes x 4 batches x batch size 300); "),
            # (a bug bash: every second step trained on the pass's last 438)
            ({"batch_size": 1000, "num_train": 1438}, 1, " (measured at batch size 1000, 1 step "
             "in 2 of 438; "),
            ({"batch_size": 700, "num_train": 1438}, 1, " (measured at batch size 700, 1 step in "
             "3 of 38; "),
            ({"batch_size": 300, "num_train": 1438}, 2, " (measured at steps of 600 examples (2 "
             "processes x batch size 300), 1 step in 3 of 119 a process; "),
            ({"batch_size": 720, "num_train": 1438}, 1, " (measured at batch size 720; "),
            ({"batch_size": 64, "num_train": 1438}, 1, " (measured at batch size 64; "),
            ({"batch_size": 1000, "num_train": 1438, "accumulation_steps": 2}, 1,
             " (measured at batch size 1000, 2 batches accumulated a step (each step a pass "
             "through all 1438 examples); "),
            # (a review: 2 x (300 + 300 + 200), each step all 1600; one of a single example
            # dropped, 80 x 4 of 241 sees some twice)
            ({"batch_size": 300, "num_train": 1600, "accumulation_steps": 3}, 2,
             " (measured at steps of 1600 examples (2 processes x 3 batches x batch size 300); "),
            ({"batch_size": 80, "num_train": 241, "accumulation_steps": 4}, 1,
             " (measured at batch size 80, 4 batches accumulated a step (more batches a step "
             "than the 241 training examples make: some twice); "),
            ({"batch_size": 300, "num_train": 1438, "accumulation_steps": 2}, 2,
             " (measured at steps of 1200 examples (2 processes x 2 batches x batch size 300); "),
            # (a review: 100 + 100 + 40 of 240 is one pass, each example once)
            ({"batch_size": 100, "accumulation_steps": 3, "num_train": 240}, 1,
             " (measured at batch size 100, 3 batches accumulated a step (each step a pass "
             "through all 240 examples); "),
            ({"batch_size": 100, "accumulation_steps": 4, "num_train": 240}, 1,
             " (measured at batch size 100, 4 batches accumulated a step (more batches a step "
             "than the 240 training examples make: some twice); "),
            ({"batch_size": 100, "accumulation_steps": 3, "num_train": 480}, 2,
             " (measured at steps of 480 examples (2 processes x 3 batches x batch size 100); "),
            ({"batch_size": 100, "accumulation_steps": 4, "num_train": 480}, 2,
             " (measured at steps of 800 examples (2 processes x 4 batches x batch size 100) "
             "(more batches a step than the 240 examples of each process's share make: some "
             "twice); "),
            ({"batch_size": 80, "accumulation_steps": 3, "num_train": 240}, 1,
             " (measured at batch size 80, 3 batches accumulated a step; "),
            ({}, 1, "\n"), ({"batch_size": None}, 1, "\n"), ({"batch_size": True}, 1, "\n"),
            ({"batch_size": "32"}, 1, "\n"), ({"batch_size": 0}, 1, "\n")):
        dataclasses.replace(VALLEY, config=config,
                            provenance={"world_size": world}).to_json(tmp_path / "lr_find.json")
        assert main(["schedule", "one-cycle", "--steps", "100", "--from-lr-find",
                     str(tmp_path / "lr_find.json")]) == 0
        err = capsys.readouterr().err
        assert f"lr_find.json: max_lr {VALLEY.bounds()[1]:.4g}{said}" in err, (config, err)
    # and as find-lr writes it
    assert main(["-q", "find-lr", "--dataset", "digits", "--model", "mlp", "--num-iter", "20",
                 "--batch-size", "48", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    main(["schedule", "one-cycle", "--steps", "100", "--from-lr-find",
          str(tmp_path / "run" / "lr_find.json")])
    assert "(measured at batch size 48; " in capsys.readouterr().err


def test_from_lr_find_warns_of_a_momentum_above_the_tests(tmp_path, capsys) -> None:
    """A bug bash: find-lr --momentum 0, then the schedule it printed, cycled momentum 0.95 to
    0.85 at a max_lr measured without momentum, unsaid."""
    import dataclasses

    from test_from_range_test import VALLEY

    dataclasses.replace(VALLEY, config={"heavy_ball_momentum": 0.0}).to_json(
        tmp_path / "lr_find.json")
    for more, warned in (([], True), (["--no-momentum"], False), (["--max-lr", "0.1"], False)):
        assert main(["schedule", "one-cycle", "--steps", "100", "--from-lr-find",
                     str(tmp_path / "lr_find.json"), *more]) == 0
        err = capsys.readouterr().err
        assert ("warning: the range test ran at momentum 0, and this policy's momentum falls "
                "to 0.85" in err) is warned, more


def test_a_plot_takes_the_format_of_its_suffix(tmp_path) -> None:
    from superconverge.report.schedule_preview import plot_policy

    policy = make_policy("one-cycle", 20)
    assert plot_policy(policy, tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    assert plot_policy(policy, tmp_path / "p.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="not 'xyz'"):
        plot_policy(policy, tmp_path / "p.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pdf", "p.svg"]


def test_from_lr_find_says_when_the_curve_is_not_a_clean_one(tmp_path, capsys) -> None:
    from superconverge.finder import RangeTestResult

    lrs = [10 ** (-5 + i / 10) for i in range(30)]
    # interrupted, after a fall of 1% only
    losses = [2.0 - 0.001 * i for i in range(20)] + [1.98 + 0.05 * i for i in range(10)]
    RangeTestResult(lrs, losses, losses, "interrupted", num_iter=100).to_json(
        tmp_path / "lr.json")
    assert main(["schedule", "one-cycle", "--steps", "10", "--from-lr-find",
                 str(tmp_path / "lr.json")]) == 0
    err = capsys.readouterr().err
    assert "stopped: interrupted after 30 of 100 steps" in err
    # cut short: said so, without a num_iter advice that reads the part it reached
    assert "warning: the sweep was cut short (interrupted after 30 of 100 steps, up to " in err
    assert "warning: the loss fell only" not in err


@pytest.mark.parametrize("made_by", ["find-lr", "the library"])
def test_from_lr_find_warns_in_the_words_of_what_measured_the_curve(
        tmp_path, capsys, made_by) -> None:
    from superconverge.finder import RangeTestResult

    lrs = [10 ** (-5 + i / 10) for i in range(30)]
    losses = [2.0 - 0.001 * i for i in range(20)] + [1.98 + 0.05 * i for i in range(10)]
    config = {"dataset": "digits", "model": "mlp"} if made_by == "find-lr" else {}
    RangeTestResult(lrs, losses, losses, "diverged", num_iter=30, config=config).to_json(
        tmp_path / "lr.json")
    assert main(["schedule", "one-cycle", "--steps", "10", "--from-lr-find",
                 str(tmp_path / "lr.json")]) == 0
    said = capsys.readouterr().err.splitlines()
    warned = [w for w in said if w.startswith("warning: ")]
    assert any("raise --num-iter" in w for w in warned) == (made_by == "find-lr"), warned
    assert any("raise num_iter" in w for w in warned) == (made_by != "find-lr"), warned
    # (a bug bash: find-lr's flags, followed on this command line, were refused or another
    # flag's: schedule's --mode is clr's waveform)
    note = ("note: the flags the range test's warnings name are find-lr's, to run it again "
            "with (not schedule's)")
    assert (note in said) == (made_by == "find-lr"), said
    if made_by == "find-lr":
        assert said.index(note) < said.index(warned[0])
    # ... said where a warning names one (a review): a falling curve cut at a NaN names none,
    # and under float16 autocast --amp bf16
    falling = [*np.linspace(2.3, 1.0, 29).tolist(), float("nan")]
    for amp, named in ((None, False), ("float16", True)):
        RangeTestResult(lrs, falling, falling, "nan", num_iter=30,
                        config={**config, "amp_dtype": amp}).to_json(tmp_path / "nan.json")
        assert main(["schedule", "one-cycle", "--steps", "10", "--from-lr-find",
                     str(tmp_path / "nan.json")]) == 0
        said = capsys.readouterr().err.splitlines()
        assert any("while still falling" in w for w in said), said
        assert (note in said) == (named and made_by == "find-lr"), said
        assert any("--amp bf16" in w for w in said) == (named and made_by == "find-lr"), said


def test_from_lr_find_names_find_lrs_batch_size_flag(tmp_path, capsys) -> None:
    """The library's "raise ... the batch size" is --batch-size for a curve find-lr measured."""
    from superconverge.finder import RangeTestResult

    lrs = list(np.logspace(-7, 1, 100))
    clean = np.concatenate([np.full(70, 1.0), np.linspace(1.0, 0.97, 30)])
    noisy = list(clean + np.random.default_rng(0).normal(0, 0.01, 100))
    RangeTestResult(lrs, noisy, noisy, "completed", num_iter=100,
                    config={"dataset": "digits"}).to_json(tmp_path / "lr.json")
    assert main(["schedule", "clr", "--steps", "10", "--base-lr", "0.01",
                 "--from-lr-find", str(tmp_path / "lr.json")]) == 0
    err = capsys.readouterr().err
    assert "raise --num-iter so the model trains longer during the test, and --batch-size: the " \
        "fall is within the batch-to-batch noise" in err, err
    # Where the options give every LR, the curve is not read, and not warned of (a bug bash:
    # it was, the warnings speaking of picks not taken; policy_from_range_test says nothing)
    assert main(["schedule", "clr", "--steps", "10", "--base-lr", "0.1", "--max-lr", "0.2",
                 "--from-lr-find", str(tmp_path / "lr.json")]) == 0
    assert capsys.readouterr().err == ""


def test_policy_values_are_checked(tmp_path) -> None:
    assert make_policy("cosine", 5, max_lr=0.1, final_lr=0.1).lr(4) == 0.1
    assert make_policy("step-decay", 10, milestones=(0.5, 8)).lr.milestones == (5, 8)
    with pytest.raises(ValueError, match="milestones must be finite"):
        make_policy("step-decay", 10, milestones=(float("nan"),))


@pytest.mark.parametrize("kind", ["fixed", "step-decay", "cosine"])
@pytest.mark.parametrize("flag", ["--cycle-momentum", "--no-momentum"])
def test_momentum_flags_on_a_policy_without_momentum_are_an_error(capsys, kind, flag) -> None:
    """Neither flag can change a policy that has no momentum schedule, so neither is ignored."""
    with pytest.raises(SystemExit) as exc:
        main(["schedule", kind, "--steps", "10", flag])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert (f"policy {kind!r} does not take --cycle-momentum/--no-momentum (it has no momentum "
            "schedule; the policies with one: one-cycle, one-cycle-two-phase, clr)") in captured.err


@pytest.mark.parametrize("kind", ["one-cycle", "one-cycle-two-phase", "clr"])
def test_momentum_flags_on_a_policy_with_momentum_choose_the_column(capsys, kind) -> None:
    cycled = run(capsys, "schedule", kind, "--steps", "40", "--cycle-momentum")
    assert cycled.splitlines()[0] == "step,lr,momentum"
    plain = run(capsys, "schedule", kind, "--steps", "40", "--no-momentum")
    assert plain.splitlines()[0] == "step,lr"


def test_policy_factory_says_which_policies_have_momentum() -> None:
    with pytest.raises(ValueError, match=r"policy 'cosine' does not take cycle_momentum, "
                                         r"high_momentum \(it has no momentum schedule; the "
                                         r"policies with one: one-cycle, one-cycle-two-phase, "
                                         r"clr\); it takes final_lr, max_lr"):
        make_policy("cosine", 10, cycle_momentum=False, high_momentum=0.9)
    assert make_policy("clr", 10, cycle_momentum=True).momentum is not None
    assert make_policy("one-cycle", 10, cycle_momentum=False).momentum is None
    # (an audit: torch's names for the bounds got "it has no momentum schedule" on one-cycle,
    # then one-cycle in the list of the policies with one)
    with pytest.raises(ValueError) as info:
        make_policy("one-cycle", 100, max_lr=0.1, max_momentum=0.95)
    assert str(info.value).startswith(
        "policy 'one-cycle' does not take max_momentum (torch's max_momentum and base_momentum "
        "are high_momentum and low_momentum here); it takes ")


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    (("step-decay", 0), {}, ValueError, "total_steps must be >= 1, got 0"),
    (("clr", "100"), {}, TypeError, "total_steps must be an int, got '100'"),
    (("step-decay", 100), {"milestones": 0.5}, TypeError, "milestones must be a list"),
    (("one-cycle", 100), {"cycle_momentum": "false"}, TypeError,
     "cycle_momentum must be True or False, got 'false'"),
])
def test_policy_factory_names_the_bad_argument(args, kwargs, error, match) -> None:
    """Each once failed deep inside a policy (a range "1..-1", "'float' object is not
    iterable"), or, for the string "false", was taken as true."""
    with pytest.raises(error, match=match):
        make_policy(*args, **kwargs)


def test_momentum_bounds_with_the_momentum_schedule_off_are_refused() -> None:
    """clr leaves momentum out by default: its bounds used to be dropped without a word."""
    with pytest.raises(ValueError, match=r"policy 'clr' leaves momentum out \(by default\), "
                                         r"so high_momentum, low_momentum would be ignored"):
        make_policy("clr", 10, high_momentum=0.99, low_momentum=0.8)
    with pytest.raises(ValueError, match=r"\(cycle_momentum=False\), so high_momentum"):
        make_policy("one-cycle", 10, cycle_momentum=False, high_momentum=0.9)
    assert make_policy("clr", 10, cycle_momentum=True, high_momentum=0.99).momentum(0) == 0.99


@pytest.mark.parametrize(("out", "fmt", "starts"), [
    ("s.png", None, b"\x89PNG"), ("s.json", None, b"{"), ("s.csv", None, b"step,lr"),
    ("s.txt", None, b"step,lr"), ("s.txt", "json", b"{"), ("s", None, b"step,lr"),
    ("s.svg", None, b"<?xml"), ("s.pdf", None, b"%PDF"), ("s.pdf", "pdf", b"%PDF"),
    ("s.tsv", "csv", b"step,lr"),
])
def test_the_out_suffix_chooses_the_format(tmp_path, capsys, out, fmt, starts) -> None:
    """--out sched.png used to get CSV text, the default --format."""
    argv = ["schedule", "one-cycle", "--steps", "10", "--out", str(tmp_path / out)]
    assert main(argv + (["--format", fmt] if fmt else [])) == 0
    assert (tmp_path / out).read_bytes().startswith(starts)


def test_a_format_the_out_suffix_denies_is_refused(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["schedule", "one-cycle", "--steps", "10", "--format", "json", "--out",
              str(tmp_path / "s.csv")])
    assert exc.value.code == 2
    assert "--format json does not match --out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_policy_factory_rejects_unknown_policy() -> None:
    with pytest.raises(ValueError, match="policy must be one of"):
        make_policy("superconvergence", 10)


def test_console_script_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "superconverge.cli", "schedule", "fixed", "--lr", "0.1",
         "--steps", "3"], check=True, capture_output=True, text=True,
    ).stdout
    assert out.splitlines() == ["step,lr", "0,0.1", "1,0.1", "2,0.1"]
    package = subprocess.run(
        [sys.executable, "-m", "superconverge", "schedule", "fixed", "--lr", "0.1", "--steps",
         "2"], capture_output=True, text=True,
    )
    assert package.returncode == 0 and package.stdout.splitlines() == ["step,lr", "0,0.1", "1,0.1"]
    bad = subprocess.run([sys.executable, "-m", "superconverge", "schedule", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'nope'" in bad.stderr


def test_written_files_are_not_private(tmp_path) -> None:
    import os
    import stat

    from superconverge import atomic

    old = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "out.csv", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_atomic_writes_pass_the_writers_own_errors_through(tmp_path) -> None:
    """Only errors about our temporary file are reworded to name the target."""
    from superconverge.atomic import atomic_path

    with pytest.raises(FileNotFoundError) as info, atomic_path(tmp_path / "out.png"):
        open(tmp_path / "missing-font.ttf")  # the body's own failure
    assert info.value.filename == str(tmp_path / "missing-font.ttf")

    class Odd(OSError):
        def __init__(self, what: str) -> None:
            super().__init__(5, what)

    with pytest.raises(Odd), atomic_path(tmp_path / "out.png") as tmp:
        raise Odd(str(tmp))
    assert list(tmp_path.iterdir()) == []


def test_the_names_the_parser_offers_are_the_registries_names() -> None:
    from superconverge import _names
    from superconverge.data import dataset_names
    from superconverge.finder import METHODS
    from superconverge.models import model_names
    from superconverge.recipes import OPTIMIZERS

    assert _names.DATASETS == dataset_names() and _names.MODELS == model_names()
    assert _names.OPTIMIZERS == OPTIMIZERS and _names.METHODS == METHODS
    from superconverge.finder.suggest import MIN_POINTS
    assert _names.MIN_POINTS == MIN_POINTS


@pytest.mark.parametrize("argv", [
    ["--help"], ["find-lr", "--help"], ["schedule", "clr", "--max-lr", "1", "--steps", "9"],
])
def test_help_and_schedule_import_no_torch(argv: list[str]) -> None:
    # torch takes 1-2 s to import: the parser and the torch-free schedule math must not need it.
    code = (f"import sys\nfrom superconverge.cli import main\ntry:\n    main({argv!r})\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(("argv", "message"), [
    # a "decay" that grew the LR 100x, exit 0; 1e200 ended in an OverflowError traceback
    (["step-decay", "--steps", "10", "--factor", "10"], "factor must be in (0, 1], got 10.0"),
    (["step-decay", "--steps", "10", "--factor", "1e200"], "factor must be in (0, 1], got 1e+200"),
    # with --format json it wrote "lr": Infinity, exit 0
    (["step-decay", "--steps", "4", "--lr", "1e300", "--factor", "1e10", "--milestones", "2"],
     "factor must be in (0, 1]"),
    # an OverflowError traceback from math.floor(1 / f)
    (["one-cycle-two-phase", "--steps", "40", "--warmup-fraction", "1e-309"],
     "--warmup-fraction=1e-309 leaves its first phase less than a step"),
    # its only step trained at LR 0, exit 0
    (["cosine", "--steps", "1", "--max-lr", "0.5"],
     "--steps=1 is too small for a cosine decay"),
])
def test_values_that_made_no_sense_or_a_traceback_are_one_clear_line(
        tmp_path, capsys, argv, message) -> None:
    out = tmp_path / "s.csv"
    with pytest.raises(SystemExit) as exc:
        main(["schedule", *argv, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def explode(cycle: float) -> float:  # module-level, so the schedule serialises
    return 1e308


@pytest.mark.parametrize("fmt", ["csv", "json", "ascii"])
def test_values_that_are_not_finite_are_never_written(fmt) -> None:
    """A scale_fn can take a wave past the largest float: the CSV said inf and the JSON
    Infinity (not JSON); the ascii chart already refused."""
    from superconverge.report.schedule_preview import render_policy

    lr = sc.cyclic(0.1, 10.0, 1, scale_fn=explode, total_steps=5)
    assert lr(1) == float("inf")  # 0.1 + 9.9 * 1e308
    refused = r"values must be finite (to write as \w+|to chart), got an LR of inf at step 1"
    with pytest.raises(ValueError, match=refused):
        render_policy(lr, fmt=fmt)


def test_a_plot_of_values_that_are_not_finite_is_refused(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from superconverge.report.schedule_preview import plot_policy

    lr = sc.cyclic(0.1, 10.0, 1, scale_fn=explode, total_steps=5)
    with pytest.raises(ValueError,
                       match=r"values must be finite to plot, got an LR of inf at step 1"):
        plot_policy(lr, tmp_path / "s.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("steps", [True, 2.5])
def test_render_steps_must_be_an_int(steps) -> None:
    """steps=True rendered one row; 2.5 failed naming nothing."""
    from superconverge.report.schedule_preview import render_policy

    with pytest.raises(TypeError, match=rf"steps must be an int, got {steps!r}"):
        render_policy(make_policy("one-cycle", 10), steps=steps)


def test_errors_name_the_flags_typed_and_the_lrs_taken_by_their_names(tmp_path, capsys) -> None:
    """The library's names (max_lr) were shown for the flags (--max-lr); an LR taken from the
    range test keeps its name, since no flag set it."""
    from test_from_range_test import VALLEY

    VALLEY.to_json(tmp_path / "lr_find.json")
    with pytest.raises(SystemExit):
        main(["schedule", "clr", "--steps", "100", "--base-lr", "100",
              "--from-lr-find", str(tmp_path / "lr_find.json")])
    err = capsys.readouterr().err
    assert "the range test's upper bound 0.05462 is below the given --base-lr=100.0" in err


@pytest.mark.parametrize("policy", ["one-cycle", "one-cycle-two-phase", "clr"])
def test_momentum_bounds_are_named_by_their_flags(policy, capsys) -> None:
    """The schedules call them low/high or base_momentum/max_momentum; the flags do not."""
    argv = ["schedule", policy, "--steps", "20", "--low-momentum", "0.96"]
    with pytest.raises(SystemExit):
        main([*argv, "--cycle-momentum"] if policy == "clr" else argv)
    assert capsys.readouterr().err == (
        "superconverge schedule: error: --low-momentum must be <= --high-momentum, got "
        "--low-momentum=0.96 > --high-momentum=0.95\n")
    with pytest.raises(SystemExit):
        main(["schedule", policy, "--steps", "20", "--high-momentum", "1.5", "--cycle-momentum"])
    assert "error: --high-momentum must be in [0, 1), got 1.5" in capsys.readouterr().err


def test_flag_names_never_touch_a_path() -> None:
    from superconverge.cli import _as_flags

    flags = {"max_lr": "--max-lr"}
    said = _as_flags("max_lr must be > 0 (runs/max_lr/x.json, max_lr.csv), got max_lr=1.", flags)
    assert said == "--max-lr must be > 0 (runs/max_lr/x.json, max_lr.csv), got --max-lr=1."
    # a path the user gave is kept as a whole word only: --out a split weight_decay at its "a"
    flags = {"weight_decay": "--weight-decay", "end_lr": "--end-lr", "start_lr": "--start-lr"}
    for out in ("a", "lr", "_"):
        assert _as_flags("weight_decay must be >= 0, got -1.0", flags, keep=[out]) == (
            "--weight-decay must be >= 0, got -1.0")
        assert _as_flags("end_lr must be > start_lr", flags, keep=[out]) == (
            "--end-lr must be > --start-lr")
    assert _as_flags("cannot write end_lr/x.png: end_lr is a file", flags, keep=["end_lr"]) == (
        "cannot write end_lr/x.png: end_lr is a file")  # the path named end_lr stays
    # an apostrophe opens no quote: "a sweep's" kept the names after it as the library's
    assert _as_flags("a sweep's first LRs are end_lr apart whatever start_lr is (got 'end_lr')",
                     flags) == ("a sweep's first LRs are --end-lr apart whatever --start-lr is "
                                "(got 'end_lr')")
    # a bare word typed as a path is kept after its flag too (an audit: "--from-lr-find
    # --max-lr is a folder"), and turned into a flag elsewhere
    assert _as_flags("--from-lr-find max_lr is a folder without lr_find.json; max_lr must be "
                     "> 0", {"max_lr": "--max-lr"}, paths=["max_lr"]) == (
        "--from-lr-find max_lr is a folder without lr_find.json; --max-lr must be > 0")


def test_a_folder_named_as_a_parameter_is_named_as_typed(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "max_lr").mkdir()
    with pytest.raises(SystemExit):
        main(["schedule", "clr", "--steps", "100", "--step-size", "10", "--from-lr-find",
              "max_lr"])
    assert "error: --from-lr-find max_lr is a folder without lr_find.json" in (
        capsys.readouterr().err)


def test_out_dev_stdout_gives_a_clean_table_and_says_wrote_on_stderr(tmp_path) -> None:
    """`--out /dev/stdout > t.csv`: the "wrote" line went to stdout too, over the header."""
    import subprocess
    import sys

    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout here")
    table = tmp_path / "t.csv"
    with open(table, "w") as out:
        done = subprocess.run([sys.executable, "-m", "superconverge", "schedule", "fixed",
                               "--steps", "2", "--out", "/dev/stdout"], stdout=out,
                              stderr=subprocess.PIPE, text=True, check=True, timeout=60)
    assert table.read_text() == "step,lr\n0,0.1\n1,0.1\n"
    assert done.stderr == "wrote /dev/stdout\n"


def test_out_dash_is_stdout(tmp_path, capsys, monkeypatch) -> None:
    """A review: --out - wrote a file named "-" (awkward to remove) and said "wrote -"."""
    monkeypatch.chdir(tmp_path)
    for fmt, expected in (([], "step,lr\n0,0.1\n1,0.1\n"), (["--format", "ascii"], None)):
        assert main(["schedule", "fixed", "--steps", "2", "--out", "-", *fmt]) == 0
        out, err = capsys.readouterr()
        assert main(["schedule", "fixed", "--steps", "2", *fmt]) == 0
        assert out == capsys.readouterr().out and "wrote" not in out + err
        assert expected is None or out == expected
    assert list(tmp_path.iterdir()) == []


def test_flag_names_leave_the_users_values_and_paths_alone(tmp_path, capsys,
                                                           monkeypatch) -> None:
    """Second review: `--out lr` said "cannot write --lr", `--mode lr` "got '--lr'", and the
    clr hint read "pass --cycle-momentum/--no-momentum=True (--cycle-momentum)"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lr").mkdir()
    cases = [
        (["fixed", "--steps", "2", "--out", "lr"], "error: cannot write lr: it is a folder"),
        (["fixed", "--steps", "2", "--from-lr-find", "factor"], "error: factor: No such file"),
        (["clr", "--steps", "20", "--mode", "lr"], "; got 'lr'"),
        (["clr", "--steps", "40", "--low-momentum", "0.8"],
         "so --low-momentum would be ignored; pass --cycle-momentum or drop them"),
        (["one-cycle", "--steps", "40", "--no-momentum", "--low-momentum", "0.8"],
         "leaves momentum out (--no-momentum), so --low-momentum would be ignored"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit):
            main(["schedule", *argv])
        err = capsys.readouterr().err
        assert message in err, (argv, err)


def _cli(*argv: str, cwd, env=None, shell_suffix: str = "") -> subprocess.CompletedProcess:
    import shlex

    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "superconverge", *argv])
    return subprocess.run(["bash", "-c", command + shell_suffix], cwd=cwd, text=True,
                          capture_output=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def test_a_path_the_output_encoding_lacks_is_escaped_not_an_error(tmp_path) -> None:
    """Under PYTHONIOENCODING=ascii the file was written and then the 'wrote' line failed:
    exit 2 after the work, and find-lr's report lost."""
    done = _cli("schedule", "clr", "--steps", "20", "--out", "ü.csv", cwd=tmp_path,
                env={"PYTHONIOENCODING": "ascii"})
    assert (done.returncode, done.stdout) == (0, "wrote \\xfc.csv\n")
    assert (tmp_path / "ü.csv").read_text().startswith("step,lr")
    done = _cli("schedule", "clr", "--steps", "20", "--out", "ö/x.csv", "--format", "pdf",
                cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 2 and "\\xf6/x.csv" in done.stderr and "Traceback" not in (
        done.stderr)


def test_a_closed_stdout_or_stderr_is_no_error_after_the_work(tmp_path) -> None:
    done = _cli("schedule", "one-cycle", "--steps", "100", "--out", "s.csv", cwd=tmp_path,
                shell_suffix=" >&-")
    assert done.returncode == 0 and done.stderr == ""
    assert (tmp_path / "s.csv").exists()
    done = _cli("schedule", "clr", "--steps", "5", "--out", "/dev/stdout", "--format", "csv",
                cwd=tmp_path, shell_suffix=" 2>&-")
    assert done.returncode == 0 and done.stdout.startswith("step,lr\n0,")
    # ... but without --out the table is the whole output: lost, it is an error (a bug bash:
    # nothing written, nothing said, status 0)
    done = _cli("schedule", "one-cycle", "--steps", "5", cwd=tmp_path, shell_suffix=" >&-")
    assert (done.returncode, done.stderr) == (1, f"{PROG} schedule: error: cannot write to "
                                              "stdout: it is closed; give --out FILE to write "
                                              "the table to a file\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_stdout_that_cannot_be_written_is_said_and_exits_1(tmp_path) -> None:
    """A bug bash: > /dev/full was "error: No space left on device", exit status 2 (a bad
    argument's), naming neither stdout nor anything the user had done wrong."""
    for argv in (["--out", "s.csv"], []):
        done = _cli("schedule", "one-cycle", "--steps", "10", *argv, cwd=tmp_path,
                    shell_suffix=" > /dev/full")
        assert done.returncode == 1, done.stderr
        assert done.stderr == (f"{PROG} schedule: error: cannot write to stdout: No "
                               "space left on device\n")
    assert (tmp_path / "s.csv").read_text().startswith("step,lr")


def test_a_relative_path_from_a_removed_folder_is_one_line(tmp_path) -> None:
    """A bug bash: from a folder removed under the shell, --out s.csv was a traceback, and so
    was every error after it (its handler made the path absolute too)."""
    import shlex

    cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "superconverge", "schedule",
                                            "one-cycle", "--steps", "3"])
    gone = f"mkdir gone && cd gone && rmdir ../gone && {cli}"
    for tail in ("--out s.csv", "--max-lr -1 --out s.csv"):
        done = subprocess.run(["bash", "-c", f"{gone} {tail}"], cwd=tmp_path, text=True,
                              capture_output=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "argument --out: 's.csv' is relative to the current folder, which has been " \
            "removed" in done.stderr
    done = subprocess.run(["bash", "-c", f"{gone} --out {tmp_path / 'abs.csv'}"], cwd=tmp_path,
                          text=True, capture_output=True, timeout=120)
    assert done.returncode == 0 and (tmp_path / "abs.csv").exists(), done.stderr


def test_long_file_names_the_file_system_takes_are_written(tmp_path) -> None:
    """The temporary name beside the file was 10 bytes longer: 246-255 byte names failed."""
    for name in ("c" * 251 + ".csv", "ü" * 125 + ".csv"):
        done = _cli("schedule", "clr", "--steps", "5", "--out", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / name).read_text().startswith("step,lr")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_paths_in_the_librarys_own_file_errors_are_not_made_flags(tmp_path) -> None:
    """A folder named like a flag (mode, momentum) in a message of ours became --mode."""
    (tmp_path / "mode").write_text("")
    done = _cli("schedule", "one-cycle", "--steps", "10", "--out", "mode/x.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.endswith("cannot write mode/x.csv: mode is a file, not a folder\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_help_into_a_full_device_is_quiet(tmp_path) -> None:
    """argparse ignores a stream that cannot be written; our one-line messages did not."""
    done = _cli("--help", cwd=tmp_path, env={"PYTHONUNBUFFERED": "1"},
                shell_suffix=" > /dev/full")
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_a_short_runs_last_step_is_held_for_its_step() -> None:
    """A run of a few steps drawn step by step ended at a dot at the foot of its last drop: the
    last LR (and momentum) is held for its step, like the others."""
    from matplotlib.figure import Figure

    from superconverge.report.schedule_preview import draw_policy

    ax = draw_policy(Figure().add_subplot(), make_policy("one-cycle", 3, max_lr=1.0))
    held = next(line for line in ax.get_lines() if line.get_drawstyle() == "steps-post")
    xs, ys = held.get_data()
    assert list(xs) == [0, 1, 2, 3] and ys[-1] == ys[-2]
    twin = next(a for a in ax.figure.axes if a is not ax)  # momentum, held the same way
    assert any(list(line.get_xdata()) == [0, 1, 2, 3] for line in twin.get_lines())


def test_a_linear_range_tests_reason_keeps_the_sweeps_mode_not_the_waveforms(
        tmp_path, capsys) -> None:
    """A review: a library-made linear sweep's no-pick reason, "(mode='exp')", became
    "(--mode='exp')" in schedule's error, whose --mode is the CLR waveform; this command's own
    flags in the same line stay flags."""
    import numpy as np

    from superconverge.finder import RangeTestResult
    from superconverge.finder.result import bias_corrected_ema

    losses = np.linspace(2.3, 4.0, 20).tolist()  # rose from the start: no pick
    RangeTestResult(lrs=np.linspace(0.05, 1.0, 20).tolist(), losses=losses,
                    smoothed=bias_corrected_ema(losses, 0.98), stop_reason="completed",
                    num_iter=20, config={"mode": "linear"}).to_json(tmp_path / "r.json")
    with pytest.raises(SystemExit):
        main(["schedule", "clr", "--steps", "100", "--from-lr-find", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert "sweep exponentially (mode='exp') or raise num_iter" in err, err
    assert "--mode" not in err and "give --base-lr and --max-lr yourself" in err, err


def test_a_missing_dependency_is_named_with_what_to_install(tmp_path, monkeypatch,
                                                             capsys) -> None:
    """A bug bash: without matplotlib (or Pillow, tqdm) the error was Python's bare "No module
    named 'PIL'", naming no package to install, where a missing scikit-learn's says."""
    for name in ("matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SystemExit):
        main(["schedule", "one-cycle", "--max-lr", "1", "--steps", "10",
              "--out", str(tmp_path / "s.png")])
    assert capsys.readouterr().err.endswith(
        "; superconverge needs the matplotlib package: pip install matplotlib\n")


def test_json_is_written_from_the_columns_as_json_dumps_writes_the_rows() -> None:
    """The JSON is built from the policy's columns (the rows of dicts took 1.13 GB for the
    CLI's 1e6 steps, a session's note), in the very text ``json.dumps(indent=1)`` gives the
    rows, with momentum and without."""
    from superconverge.report.schedule_preview import render_policy

    for policy in (make_policy("one-cycle", 37, max_lr=0.3), make_policy("cosine", 5, max_lr=0.1),
                   make_policy("fixed", 1, lr=0.1)):
        doc = {"policy": policy.name, "lr_schedule": policy.lr.to_dict(),
               "momentum_schedule": policy.momentum.to_dict() if policy.momentum else None,
               "steps": policy.table()}
        text = render_policy(policy, fmt="json")
        assert text == json.dumps(doc, indent=1) + "\n"
        assert json.loads(text)["steps"] == policy.table()
    bare = sc.cyclic(0.01, 0.1, 3, total_steps=8)
    assert json.loads(render_policy(bare, fmt="json"))["steps"] == [
        {"step": i, "lr": bare(i)} for i in range(8)]


def test_a_long_run_is_drawn_by_each_stretchs_lowest_and_highest() -> None:
    """Past 2 * DRAWN_STRETCHES steps, a plot draws each stretch of steps by its lowest and
    highest value at their own steps (a line through 10M steps took 58 s and 1.1 GB): a fast
    cycle keeps its full height, a one-step spike is drawn, the ends are where they were."""
    from matplotlib.figure import Figure

    from superconverge.report import schedule_preview
    from superconverge.report.schedule_preview import DRAWN_STRETCHES, draw_policy

    n = 2 * DRAWN_STRETCHES + 1001
    fast = sc.cyclic(0.01, 0.1, 3, total_steps=n)  # a cycle every 6 steps: 1 to 3 a stretch
    spike = sc.join([sc.constant(0.01, 12345), sc.constant(0.5, 1), sc.constant(0.02, n)])
    for lr in (fast, spike):
        ax = draw_policy(Figure().add_subplot(), lr, steps=n)
        x, y = ax.lines[0].get_data()
        values = [lr(i) for i in range(n)]
        assert len(x) <= 2 * DRAWN_STRETCHES + 2 and list(np.diff(x) > 0).count(False) == 0
        assert list(y) == [values[i] for i in x]  # each point at its own step
        assert (x[0], x[-1]) == (0, n - 1)
        width = -(-n // DRAWN_STRETCHES)
        for start in range(0, n, width):  # each stretch's lowest and highest are drawn
            part = values[start:start + width]
            inside = y[(x >= start) & (x < start + width)]
            assert (inside.min(), inside.max()) == (min(part), max(part))
    # at most 2 * DRAWN_STRETCHES steps, every step is drawn
    short = draw_policy(Figure().add_subplot(), fast, steps=2 * DRAWN_STRETCHES)
    assert list(short.lines[0].get_xdata()) == list(range(2 * DRAWN_STRETCHES))
    assert schedule_preview.FEW_STEPS < 2 * DRAWN_STRETCHES
