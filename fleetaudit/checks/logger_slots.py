"""Slot analysis of the periodic logger table: bursts, gaps, late drift and daily counts.

Slots are the expected run times, every ``interval`` minutes from local midnight (00:00, 00:05, ...).
A row belongs to the slot at or before its stamp (within one interval). A row stamped in its slot's
minute is on time; a row stamped later in the interval is late by that many minutes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from fleetaudit.facts import LoggerData

from .common import minute


@dataclass(frozen=True)
class Burst:
    """Several rows sharing one minute after at least one wholly missed slot."""

    stamp: dt.datetime
    count: int
    gap_from: dt.datetime          # stamp of the last row before the burst
    missing_slots: int             # slots after gap_from's slot whose time passed before the burst minute
    first_missing: dt.datetime     # first slot without a row of its own


@dataclass(frozen=True)
class Gap:
    """Consecutive slots with no row that no later burst caught up."""

    start: dt.datetime             # first missing slot
    end: dt.datetime               # last missing slot
    missing_slots: int
    after: dt.datetime             # stamp of the last row before the gap


@dataclass(frozen=True)
class Drift:
    """A stretch of consecutive single rows stamped after their slot minute."""

    start: dt.datetime
    end: dt.datetime
    rows: int
    max_late_minutes: int


@dataclass(frozen=True)
class SlotAnalysis:
    """Everything found in one logger table."""

    interval: int
    bursts: Tuple[Burst, ...]
    gaps: Tuple[Gap, ...]
    drifts: Tuple[Drift, ...]
    days: Tuple[Tuple[dt.date, int], ...]     # full days only (first/last partial days left out)
    expected_per_day: int


def detect_interval(stamps: Sequence[dt.datetime]) -> Optional[int]:
    """Return the most common positive step in minutes between distinct consecutive stamps."""
    distinct = sorted(set(stamps))
    steps = Counter(int((b - a).total_seconds() // 60) for a, b in zip(distinct, distinct[1:]))
    steps.pop(0, None)
    return steps.most_common(1)[0][0] if steps else None


def slot_of(at: dt.datetime, interval: int) -> dt.datetime:
    """Return the slot a stamp belongs to: the latest multiple of ``interval`` minutes since midnight."""
    minutes = at.hour * 60 + at.minute
    start = minutes - minutes % interval
    return at.replace(hour=start // 60, minute=start % 60, second=0, microsecond=0)


def _slots_between(earlier: dt.datetime, later: dt.datetime, interval: int) -> int:
    """Return how many slot steps lead from slot ``earlier`` to slot ``later``."""
    return int((later - earlier).total_seconds() // 60) // interval


def _groups(data: LoggerData) -> List[Tuple[dt.datetime, int]]:
    """Return (minute, row count) for every distinct stamp minute, in time order."""
    counts = Counter(minute(r.stamp) for r in data.rows)
    return sorted(counts.items())


class _Walker:
    """Walks the stamp groups once, collecting bursts, gaps and drift stretches."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.step = dt.timedelta(minutes=interval)
        self.bursts: List[Burst] = []
        self.gaps: List[Gap] = []
        self.drifts: List[Drift] = []
        self.late: List[Tuple[dt.datetime, int]] = []
        self.prev_slot: Optional[dt.datetime] = None
        self.prev_stamp: Optional[dt.datetime] = None

    def feed(self, stamp: dt.datetime, count: int) -> None:
        """Account for ``count`` rows stamped in minute ``stamp``."""
        late = (stamp.hour * 60 + stamp.minute) % self.interval     # = slot_of(stamp); stamp is whole minutes
        own = stamp - dt.timedelta(minutes=late) if late else stamp
        if self.prev_slot is None or self.prev_stamp is None:
            self._single(stamp, late)
        else:
            needed = _slots_between(self.prev_slot, own, self.interval)
            if needed <= 0:
                self._close_drift()
                return
            if count >= 2 and needed >= 2:
                self._burst(stamp, count, needed, late, self.prev_slot, self.prev_stamp)
            else:
                if needed >= 2:
                    self._gap(self.prev_slot + self.step, needed - 1, self.prev_stamp)
                self._single(stamp, late if count == 1 else 0)
        self.prev_slot, self.prev_stamp = own, stamp

    def _single(self, stamp: dt.datetime, late: int) -> None:
        if late > 0:
            self.late.append((stamp, late))
        else:
            self._close_drift()

    def _burst(self, stamp: dt.datetime, count: int, needed: int, late: int,
               prev_slot: dt.datetime, prev_stamp: dt.datetime) -> None:
        self._close_drift()
        missing = needed if late > 0 else needed - 1
        first = prev_slot + self.step
        self.bursts.append(Burst(stamp, count, prev_stamp, missing, first))
        if count < needed:
            self._gap(first, needed - count, prev_stamp)

    def _gap(self, first: dt.datetime, missing: int, after: dt.datetime) -> None:
        self._close_drift()
        self.gaps.append(Gap(first, first + self.step * (missing - 1), missing, after))

    def _close_drift(self) -> None:
        if self.late:
            worst = max(m for _, m in self.late)
            self.drifts.append(Drift(self.late[0][0], self.late[-1][0], len(self.late), worst))
        self.late = []


def _full_days(groups: Sequence[Tuple[dt.datetime, int]], interval: int) -> Tuple[Tuple[dt.date, int], ...]:
    """Return (day, rows) for every day except a first or last day the data only partly covers."""
    per_day: Counter[dt.date] = Counter()
    for stamp, count in groups:
        per_day[stamp.date()] += count
    first, last = groups[0][0], groups[-1][0]
    skip = set()
    if slot_of(first, interval).time() != dt.time(0, 0):
        skip.add(first.date())
    if (last.hour * 60 + last.minute) < 24 * 60 - interval:
        skip.add(last.date())
    return tuple((day, n) for day, n in sorted(per_day.items()) if day not in skip)


def analyze(data: LoggerData, interval: Optional[int] = None) -> Optional[SlotAnalysis]:
    """Analyse the logger rows; None when there are no rows or no interval can be found."""
    groups = _groups(data)
    step = interval or data.interval_minutes or detect_interval([g for g, _ in groups])
    if not groups or not step or step <= 0:
        return None
    walker = _Walker(step)
    for stamp, count in groups:
        walker.feed(stamp, count)
    walker._close_drift()
    return SlotAnalysis(step, tuple(walker.bursts), tuple(walker.gaps), tuple(walker.drifts),
                        _full_days(groups, step), (24 * 60) // step)
