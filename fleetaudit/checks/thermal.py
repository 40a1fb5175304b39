"""Check the logger's temperature column for spikes above a rolling baseline."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Deque, Iterator, List, Optional, Sequence, Tuple

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


def _readings(rows: Sequence[LoggerRow]) -> List[LoggerRow]:
    return sorted((r for r in rows if r.temperature is not None), key=lambda r: (local(r.stamp), r.rowid))


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


class _SpikeFinder:
    """Tracks a rolling window of earlier readings and the spike in progress."""

    def __init__(self, window: dt.timedelta, margin: float) -> None:
        self.window, self.margin = window, margin
        self.recent: Deque[LoggerRow] = deque()
        self.spike: List[LoggerRow] = []
        self.base: Tuple[float, Optional[float]] = (0.0, None)
        self.found: List[Spike] = []

    def feed(self, row: LoggerRow) -> None:
        """Consider one reading."""
        temp = float(row.temperature or 0.0)
        if self.spike and temp - self.base[0] >= self.margin:
            self.spike.append(row)
            return
        self.close()
        while self.recent and local(row.stamp) - local(self.recent[0].stamp) > self.window:
            self.recent.popleft()
        if len(self.recent) >= MIN_BASELINE_ROWS:
            base = statistics.median(float(r.temperature or 0.0) for r in self.recent)
            if temp - base >= self.margin:
                self.base = (base, _median([r.ambient for r in self.recent]))
                self.spike = [row]
                return
        self.recent.append(row)

    def close(self) -> None:
        """Finish the spike in progress, if any."""
        if not self.spike:
            return
        peak = max(self.spike, key=lambda r: float(r.temperature or 0.0))
        ambient = None
        if peak.ambient is not None and self.base[1] is not None:
            ambient = round(peak.ambient - self.base[1], 2)
        self.found.append(Spike(local(self.spike[0].stamp), local(self.spike[-1].stamp),
                                float(peak.temperature or 0.0), self.base[0], ambient))
        self.spike = []


def spikes(rows: Sequence[LoggerRow], window_minutes: int, margin: float) -> List[Spike]:
    """Return every spike of at least ``margin`` degrees over the median of the previous window."""
    finder = _SpikeFinder(dt.timedelta(minutes=window_minutes), margin)
    for row in _readings(rows):
        finder.feed(row)
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
