"""Check the logger's temperature column for spikes above a rolling baseline."""

from __future__ import annotations

import datetime as dt
import operator
import statistics
from bisect import bisect_left, insort
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Iterator, List, Optional, Sequence, Tuple

from fleetaudit.facts import HostFacts, LoggerRow
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

MIN_BASELINE_ROWS = 3


@dataclass(frozen=True)
class Spike:
    """Consecutive readings at least ``margin`` above the baseline taken just before them."""

    start: dt.datetime
    end: dt.datetime
    peak_c: float
    baseline_c: float
    ambient_change_c: Optional[float]


_STAMP, _TEMP, _ROWID, _TZINFO = (attrgetter(name) for name in ("stamp", "temperature", "rowid", "tzinfo"))


def _readings(rows: Sequence[LoggerRow]) -> Tuple[List[LoggerRow], List[dt.datetime], List[float]]:
    """Return the rows with a temperature in (naive local stamp, rowid) order, their stamps and temperatures.

    The order is a stable sort's, as before; rows already in that order (the usual case: rowid order is time
    order) are only checked, and naive stamps and plain non-zero floats are taken as they are. A reading's
    temperature is ``float(row.temperature or 0.0)`` wherever it is used.
    """
    temps: List[float] = list(map(_TEMP, rows))
    if any(map(operator.is_, temps, repeat(None))):
        kept = [r for r in rows if r.temperature is not None]
        temps = list(map(_TEMP, kept))
    else:
        kept = list(rows)
    stamps = list(map(_STAMP, kept))
    if any(map(operator.is_not, map(_TZINFO, stamps), repeat(None))):
        stamps = [local(at) for at in stamps]
    if not all(map(operator.lt, stamps, stamps[1:])):
        keys = list(zip(stamps, map(_ROWID, kept)))
        if not all(map(operator.le, keys, keys[1:])):
            order = sorted(range(len(keys)), key=keys.__getitem__)
            kept = [kept[i] for i in order]
            stamps = [stamps[i] for i in order]
            temps = [temps[i] for i in order]
    if set(map(type, temps)) - {float} or 0.0 in temps:
        temps = [float(t or 0.0) for t in temps]
    return kept, stamps, temps


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _spike(kept: Sequence[LoggerRow], stamps: Sequence[dt.datetime], temps: Sequence[float], first: int, last: int,
           base: float, base_ambient: Optional[float]) -> Spike:
    """Return the spike of readings ``first``..``last``; its peak is the first hottest reading, as ``max`` picks."""
    peak = max(range(first, last + 1), key=temps.__getitem__)
    ambient = kept[peak].ambient
    change = round(ambient - base_ambient, 2) if ambient is not None and base_ambient is not None else None
    return Spike(stamps[first], stamps[last], temps[peak], base, change)


def spikes(rows: Sequence[LoggerRow], window_minutes: int, margin: float) -> List[Spike]:
    """Return every spike of at least ``margin`` degrees over the median of the previous window.

    Readings are taken in time order. A reading at least ``margin`` above the running spike's baseline
    continues it; otherwise the spike ends, readings more than the window older than this one leave the
    window, and with at least ``MIN_BASELINE_ROWS`` in the window a reading ``margin`` above their median
    starts a spike (baseline: that median, and the median of their known ambients). A reading that neither
    continues nor starts a spike joins the window.

    A year of 5-minute rows is 105,120 readings, so this is one inlined loop over columns. The window is
    ``recent[head:]`` (reading indexes, in time order); its temperatures are also kept sorted (``bisect``)
    so that its median costs O(log n) per reading; a NaN cannot be kept sorted, so while the window holds
    one the median is ``statistics.median`` over the window in reading order, as it always was.
    """
    window = dt.timedelta(minutes=window_minutes)
    kept, stamps, temps = _readings(rows)
    found: List[Spike] = []
    recent: List[int] = []             # the window is recent[head:]
    head = 0
    ordered: List[float] = []          # the window's temperatures but NaNs, sorted
    nans = 0                           # NaNs in the window
    spike_from = -1                    # first reading of the spike in progress
    base, base_ambient = 0.0, None
    for i, (at, temp) in enumerate(zip(stamps, temps)):
        if spike_from >= 0:
            if temp - base >= margin:
                continue
            found.append(_spike(kept, stamps, temps, spike_from, i - 1, base, base_ambient))
            spike_from = -1
        while head < len(recent) and at - stamps[recent[head]] > window:
            old = temps[recent[head]]
            head += 1
            if old != old:
                nans -= 1
            else:
                del ordered[bisect_left(ordered, old)]
        # Without NaNs, temp - median <= temp - min (float subtraction is monotonic): below the margin over the
        # window's minimum, a reading is below it over the median too, which is then not needed.
        if len(recent) - head >= MIN_BASELINE_ROWS and (nans or not temp - ordered[0] < margin):
            if nans:
                median = statistics.median([temps[j] for j in recent[head:]])
            else:
                mid = len(ordered) // 2
                median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
            if temp - median >= margin:
                base, base_ambient = median, _median([kept[j].ambient for j in recent[head:]])
                spike_from = i
                continue
        recent.append(i)
        if temp != temp:
            nans += 1
        else:
            insort(ordered, temp)
    if spike_from >= 0:
        found.append(_spike(kept, stamps, temps, spike_from, len(temps) - 1, base, base_ambient))
    return found


@check("thermal.spike", description="The SoC temperature rose above its rolling baseline by more than a margin.",
       evidence=("start", "end", "peak_c", "baseline_c", "rise_c", "ambient_change_c"), needs=("logger",))
def spike(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each spike: warning, critical when the rise is at least twice the margin."""
    if facts.logger is None:
        return
    limits = ctx.host.thresholds
    has_ambient = facts.logger.ambient_column is not None
    for s in spikes(facts.logger.rows, limits.thermal_window_minutes, limits.thermal_margin_c):
        rise = round(s.peak_c - s.baseline_c, 2)
        severity = "critical" if rise >= 2 * limits.thermal_margin_c else "warning"
        amb = f"; ambient changed {s.ambient_change_c:+g} C" if s.ambient_change_c is not None else ""
        summary = (f"The SoC reached {s.peak_c:g} C between {iso(s.start)} and {iso(s.end)}, {rise:g} C above its "
                   f"baseline of {s.baseline_c:g} C{amb}: check cooling and what ran at that time.")
        evidence = {"start": iso(s.start), "end": iso(s.end), "peak_c": s.peak_c, "baseline_c": s.baseline_c,
                    "rise_c": rise}
        if has_ambient:
            evidence["ambient_change_c"] = s.ambient_change_c
        yield make(facts, "thermal.spike", severity, summary, evidence, key=iso(s.start) or "",
                   start=s.start, end=s.end)
