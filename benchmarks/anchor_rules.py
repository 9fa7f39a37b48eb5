"""The anchors' LR-suggestion rules, reimplemented from their source code.

Each takes the *raw* per-step losses of one range test (as our engine records them), applies the
anchor's own smoothing, stop and trimming, then its rule — so every rule is judged on the same
curves. Sources: torch-lr-finder 0.2.2 (`LRFinder.range_test`'s stop, `plot(suggest_lr=True)`),
fastai (`lr_find` with `valley` / `minimum`), Lightning >= 2.5.3 (the curve its `_LRCallback`
records, `_LRFinder.suggestion`). Where the package is installed, tests/test_benchmarks.py runs
it on the stored curves and checks that it picks what the reimplementation picks (torch-lr-finder
and Lightning: every one of the 100). See ../../shared/ANCHORS.md, whose Lightning entry gives
the smoothing its docs describe, not the one its callback computes (:func:`lightning_curve`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from superconverge.finder.result import bias_corrected_ema


def ema_bias_corrected(raw: Sequence[float], beta: float = 0.98) -> np.ndarray:
    """fastai's smoothing: ``avg = beta*avg + (1-beta)*x``, divided by ``1 - beta**t`` — the
    same formula as our range test's stop rule, so the library's function serves. (Lightning
    documents the same and divides by ``1 - beta**(t+1)``: :func:`lightning_curve`.)"""
    return np.asarray(bias_corrected_ema(raw, beta))


def ema_plain(raw: Sequence[float], smooth_f: float = 0.05) -> np.ndarray:
    """torch-lr-finder smoothing: ``loss = f*loss + (1-f)*previous`` (no bias correction)."""
    out: list[float] = []
    for x in raw:
        out.append(x if not out else smooth_f * x + (1 - smooth_f) * out[-1])
    return np.asarray(out)


def _finite(lrs: Sequence[float], losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lrs, dtype=float)
    ok = np.isfinite(losses)
    end = int(np.argmin(ok)) if not ok.all() else len(ok)
    return x[:end], losses[:end]


def torch_lr_finder(
    lrs: Sequence[float], raw: Sequence[float], diverge_th: float = 5.0
) -> float | None:
    """Minimum of ``np.gradient(losses)`` per *index*, after trimming 10 / 5 points, on the
    curve its range test records: that stops at the first smoothed loss above ``diverge_th``
    times the best so far (kept), where our curves (bias-corrected EMA, 4x) may run on."""
    smoothed = ema_plain(raw)
    best, end = math.inf, len(smoothed)
    for i, value in enumerate(smoothed):
        best = min(best, value)
        if value > diverge_th * best:
            end = i + 1
            break
    x, y = _finite(lrs[:end], smoothed[:end])
    x, y = x[10:-5], y[10:-5]
    if len(y) < 2:
        return None
    return float(x[int(np.gradient(y).argmin())])


def _fastai_trim(lrs: Sequence[float], raw: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    # fastai cuts num_it // 10 points, a tenth of the steps asked for; this cuts a tenth of
    # those recorded, which differs on a curve that diverged early. Kept so for the committed
    # results: on their 100 stored curves it changes 10 of 200 fastai picks, and the held-out
    # means by at most 0.16 points (valley 11.07 -> 10.96, 21.91 -> 21.75; minimum unchanged).
    # A sweep that stopped at its first non-finite loss goes on in fastai, whose 4x stop a NaN
    # never trips (an inf loss makes its EMA NaN), recording NaN to num_it: the 5 points its
    # trim drops at the end are NaN, and it cuts at the first NaN after the trim (a bug bash:
    # the last 5 finite points were dropped, and fastai's minimum/10 read 2.5x low; no stored
    # curve has a non-finite point).
    num_it = len(raw)
    y = ema_bias_corrected(raw)
    end = len(y) if len(y) and not np.isfinite(y[-1]) else -5
    return _finite(np.asarray(lrs, dtype=float)[num_it // 10 : end], y[num_it // 10 : end])


def fastai_valley(lrs: Sequence[float], raw: Sequence[float]) -> float | None:
    """fastai's default: longest decreasing subsequence, then ``start + len/3 + len/6``."""
    x, y = _fastai_trim(lrs, raw)
    n = len(y)
    if n < 2:
        return None
    max_start = max_end = 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if y[i] < y[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(x[min(max(idx, 0), n - 1)])


def fastai_minimum(lrs: Sequence[float], raw: Sequence[float]) -> float | None:
    """fastai's ``minimum``: the LR at the lowest smoothed loss, divided by 10."""
    x, y = _fastai_trim(lrs, raw)
    if len(y) == 0:
        return None
    return float(x[int(np.argmin(y))] / 10)


def lightning_curve(raw: Sequence[float], beta: float = 0.98,
                    early_stop_threshold: float | None = 4.0) -> np.ndarray:
    """The losses Lightning's ``lr_find`` records from these raw ones (its ``_LRCallback``):
    an EMA whose bias correction divides by ``1 - beta ** (global_step + 1)`` where
    ``global_step`` is already 1 at the first batch's end (the optimizer has stepped), so it
    is one step off the usual correction: the first point is about half the loss and the
    curve climbs over its first tens of steps. It stops after the first point above
    ``early_stop_threshold`` times the best so far (from the second step on), keeping that
    point. A review found the rule scored on a correctly bias-corrected curve, as Lightning's
    docs describe it, which picked otherwise than Lightning on 95 of the 100 stored curves."""
    avg, best, out = 0.0, 0.0, []
    for i, x in enumerate(raw):
        step = i + 1  # trainer.global_step in on_train_batch_end of the i-th batch
        avg = beta * avg + (1 - beta) * x
        smoothed = avg / (1 - beta ** (step + 1))
        stop = (early_stop_threshold is not None and step > 1
                and smoothed > early_stop_threshold * best)
        if smoothed < best or step == 1:
            best = smoothed
        out.append(smoothed)
        if stop:
            break
    return np.asarray(out)


def lightning(lrs: Sequence[float], raw: Sequence[float]) -> float | None:
    """Lightning >= 2.5.3: most negative ``gradient(losses, spacing=lrs)`` (linear-LR spacing)
    on the curve it records (:func:`lightning_curve`), after dropping 10 points at the start
    and 1 at the end and any non-finite loss. A curve that our stop cut before Lightning's
    own would stop is read as if Lightning had stopped at its end (Lightning would have
    recorded on and dropped a later point: on the 100 stored curves, 24 of them cut so,
    keeping their last point changes no pick)."""
    curve = lightning_curve(raw)
    y = curve[10:-1]
    x = np.asarray(lrs, dtype=float)[10:len(curve) - 1]
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(y) < 2:
        return None
    return float(x[int(np.gradient(y, x).argmin())])


ANCHOR_RULES = {
    "torch-lr-finder": torch_lr_finder,
    "fastai valley": fastai_valley,
    "fastai minimum/10": fastai_minimum,
    "lightning": lightning,
}
