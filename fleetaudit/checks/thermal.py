"""Check the logger's temperature column for spikes above a rolling baseline."""

from __future__ import annotations

import datetime as dt
import statistics
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from operator import itemgetter
from typing import Deque, Iterator, List, Optional, Sequence, Tuple

from fleetaudit.facts import HostFacts, LoggerRow
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

MIN_BASELINE_ROWS = 3
Reading = Tuple[dt.datetime, int, LoggerRow]      # (naive local stamp, rowid, row)


@dataclass(frozen=True)
class Spike:
    """Consecutive readings at least ``margin`` above the baseline taken just before them."""

    start: dt.datetime
    end: dt.datetime
    peak_c: float
    baseline_c: float
    ambient_change_c: Optional[float]


def _readings(rows: Sequence[LoggerRow]) -> List[Reading]:
    """Return (naive local stamp, rowid, row) for every row with a temperature, in time order."""
    keyed = [(local(r.stamp), r.rowid, r) for r in rows if r.temperature is not None]
    keyed.sort(key=itemgetter(0, 1))
    return keyed


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _sorted_median(ordered: List[float]) -> float:
    """Return the median of an already sorted, non-empty list (as ``statistics.median`` computes it)."""
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class _SpikeFinder:
    """Tracks a rolling window of earlier readings and the spike in progress.

    The window's temperatures are also kept sorted (``bisect``), so its median costs O(log n) per row
    instead of sorting the whole window again.
    """

    def __init__(self, window: dt.timedelta, margin: float) -> None:
        self.window, self.margin = window, margin
        self.recent: Deque[Reading] = deque()
        self.temps: List[float] = []
        self.nans = 0                      # NaN readings in the window: they cannot be kept sorted
        self.spike: List[Reading] = []
        self.base: Tuple[float, Optional[float]] = (0.0, None)
        self.found: List[Spike] = []

    def feed(self, reading: Reading) -> None:
        """Consider one reading."""
        temp = float(reading[2].temperature or 0.0)
        if self.spike and temp - self.base[0] >= self.margin:
            self.spike.append(reading)
            return
        self.close()
        self._expire(reading[0])
        if len(self.recent) >= MIN_BASELINE_ROWS:
            base = self._baseline()
            if temp - base >= self.margin:
                self.base = (base, _median([r.ambient for _, _, r in self.recent]))
                self.spike = [reading]
                return
        self.recent.append(reading)
        if temp != temp:
            self.nans += 1
        else:
            insort(self.temps, temp)

    def _baseline(self) -> float:
        """Return the median temperature of the window (the slow way only when it holds a NaN)."""
        if self.nans:
            return statistics.median(float(r.temperature or 0.0) for _, _, r in self.recent)
        return _sorted_median(self.temps)

    def _expire(self, at: dt.datetime) -> None:
        """Drop the readings older than the window before ``at``."""
        while self.recent and at - self.recent[0][0] > self.window:
            old = float(self.recent.popleft()[2].temperature or 0.0)
            if old != old:
                self.nans -= 1
            else:
                del self.temps[bisect_left(self.temps, old)]

    def close(self) -> None:
        """Finish the spike in progress, if any."""
        if not self.spike:
            return
        peak = max((r for _, _, r in self.spike), key=lambda r: float(r.temperature or 0.0))
        ambient = None
        if peak.ambient is not None and self.base[1] is not None:
            ambient = round(peak.ambient - self.base[1], 2)
        self.found.append(Spike(self.spike[0][0], self.spike[-1][0],
                                float(peak.temperature or 0.0), self.base[0], ambient))
        self.spike = []


def spikes(rows: Sequence[LoggerRow], window_minutes: int, margin: float) -> List[Spike]:
    """Return every spike of at least ``margin`` degrees over the median of the previous window."""
    finder = _SpikeFinder(dt.timedelta(minutes=window_minutes), margin)
    for reading in _readings(rows):
        finder.feed(reading)
    finder.close()
    return finder.found


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
