"""Slot analysis of the periodic logger table: bursts, gaps, late drift and daily counts.

Slots are the expected run times, every ``interval`` minutes from local midnight (00:00, 00:05, ...).
A row belongs to the slot at or before its stamp (within one interval). A row stamped in its slot's
minute is on time; a row stamped later in the interval is late by that many minutes.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import List, Optional, Sequence, Tuple

from fleetaudit.facts import LoggerData

from .common import minute

_STAMP, _TZINFO, _SECOND, _MICROSECOND = (attrgetter(name) for name in ("stamp", "tzinfo", "second", "microsecond"))
_FIRST, _SECOND_ITEM = itemgetter(0), itemgetter(1)


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
    later = stamps[1:]
    if all(map(operator.lt, stamps, later)):          # distinct and in order already
        distinct = stamps
    else:
        distinct = sorted(set(stamps))
        later = distinct[1:]
    # Count the (few) distinct steps first; a Counter keeps first-seen order, so ties break as before.
    steps: Counter[int] = Counter()
    for step, n in Counter(map(operator.sub, later, distinct)).items():
        steps[int(step.total_seconds() // 60)] += n
    steps.pop(0, None)
    return steps.most_common(1)[0][0] if steps else None


def slot_of(at: dt.datetime, interval: int) -> dt.datetime:
    """Return the slot a stamp belongs to: the latest multiple of ``interval`` minutes since midnight."""
    minutes = at.hour * 60 + at.minute
    start = minutes - minutes % interval
    return at.replace(hour=start // 60, minute=start % 60, second=0, microsecond=0)


def _groups(data: LoggerData) -> List[Tuple[dt.datetime, int]]:
    """Return (minute, row count) for every distinct stamp minute, in time order.

    Naive whole-minute stamps in strictly increasing order (the usual case) are their own groups of one.
    Otherwise rows are counted by stamp first (in C); only when a stamp has seconds are the distinct stamps
    folded into their minutes. Aware stamps (the minute is the naive wall-clock one) take the per-row way.
    """
    stamps = list(map(_STAMP, data.rows))
    if any(map(operator.is_not, map(_TZINFO, stamps), repeat(None))):
        counts = Counter(minute(r.stamp) for r in data.rows)
    else:
        whole = not (any(map(_SECOND, stamps)) or any(map(_MICROSECOND, stamps)))
        if whole and all(map(operator.lt, stamps, stamps[1:])):
            return list(zip(stamps, repeat(1)))       # the usual case: distinct whole minutes in time order
        counts = Counter(stamps)
        if not whole:
            minutes: Counter[dt.datetime] = Counter()
            for stamp, n in counts.items():
                minutes[minute(stamp)] += n
            counts = minutes
    groups = list(counts.items())
    stamps = list(counts)
    if not all(map(operator.lt, stamps, stamps[1:])):
        groups.sort()
    return groups


def _walk(groups: Sequence[Tuple[dt.datetime, int]], interval: int) -> Tuple[List[Burst], List[Gap], List[Drift]]:
    """Walk the stamp groups once, collecting bursts, gaps that no burst caught up, and drift stretches.

    Each group's own slot is ``slot_of(stamp)`` (the stamps are whole minutes); ``needed`` is how many slot
    steps lead to it from the previous group's slot. A group of rows after missed slots is a burst, a single
    row after them a gap; a group in or before the previous slot only ends a drift. Single rows stamped
    after their slot minute make a drift stretch. A year of rows is about 105,000 groups, so the loop is
    inlined, and the usual group (one step after the previous one) is told by one datetime comparison.
    """
    step = dt.timedelta(minutes=interval)
    bursts: List[Burst] = []
    gaps: List[Gap] = []
    drifts: List[Drift] = []
    late_rows: List[Tuple[dt.datetime, int]] = []     # the drift stretch in progress: (stamp, minutes late)
    prev_slot: Optional[dt.datetime] = None
    prev_stamp: Optional[dt.datetime] = None
    following: Optional[dt.datetime] = None            # prev_slot + step (None: not representable)
    for stamp, count in groups:
        late = (stamp.hour * 60 + stamp.minute) % interval
        own = stamp - dt.timedelta(minutes=late) if late else stamp
        if prev_slot is None or prev_stamp is None:
            single_late = late
        else:
            needed = 1 if own == following else int((own - prev_slot).total_seconds() // 60) // interval
            if needed <= 0:
                if late_rows:
                    drifts.append(_drift(late_rows))
                    late_rows = []
                continue
            if needed >= 2:
                if late_rows:
                    drifts.append(_drift(late_rows))
                    late_rows = []
                first = prev_slot + step
                if count >= 2:
                    bursts.append(Burst(stamp, count, prev_stamp, needed if late > 0 else needed - 1, first))
                    if count < needed:
                        gaps.append(Gap(first, first + step * (needed - count - 1), needed - count, prev_stamp))
                    single_late = -1
                else:
                    gaps.append(Gap(first, first + step * (needed - 2), needed - 1, prev_stamp))
                    single_late = late
            else:
                single_late = late if count == 1 else 0
        if single_late > 0:
            late_rows.append((stamp, single_late))
        elif late_rows:
            drifts.append(_drift(late_rows))
            late_rows = []
        prev_slot, prev_stamp = own, stamp
        try:
            following = own + step
        except OverflowError:
            following = None
    if late_rows:
        drifts.append(_drift(late_rows))
    return bursts, gaps, drifts


def _drift(late_rows: Sequence[Tuple[dt.datetime, int]]) -> Drift:
    """Return the drift stretch of these late single rows."""
    return Drift(late_rows[0][0], late_rows[-1][0], len(late_rows), max(m for _, m in late_rows))


def _full_days(groups: Sequence[Tuple[dt.datetime, int]], interval: int) -> Tuple[Tuple[dt.date, int], ...]:
    """Return (day, rows) for every day except a first or last day the data only partly covers."""
    per_day = Counter(map(dt.datetime.date, map(_FIRST, groups)))      # one row each ...
    if sum(map(_SECOND_ITEM, groups)) != len(groups):
        for stamp, count in groups:
            if count != 1:
                per_day[stamp.date()] += count - 1                        # ... and the rest of each group
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
    bursts, gaps, drifts = _walk(groups, step)
    return SlotAnalysis(step, tuple(bursts), tuple(gaps), tuple(drifts), _full_days(groups, step), (24 * 60) // step)
