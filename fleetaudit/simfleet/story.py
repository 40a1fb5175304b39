"""The simulated incident's timeline: logger rows, bursts and temperatures, as plain data.

Everything here is deterministic (fixed seeds) and pure: other modules turn these rows into a SQLite
DB and into cron syslog lines, so the DB and the logs always agree.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import List, Sequence, Tuple

PERIOD_START = dt.datetime(2020, 9, 1, 0, 0)
PERIOD_DAYS = 15                                  # 2020-09-01 .. 2020-09-15 inclusive
PERIOD_END = PERIOD_START + dt.timedelta(days=PERIOD_DAYS)
SLOT = dt.timedelta(minutes=5)
STAMP_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Burst:
    """One catch-up burst: the stamps before it, the gap, and the rows stamped at ``at``."""

    at: dt.datetime                                # the minute every caught-up row is stamped with
    gap_from: dt.datetime                          # first slot with no row of its own
    drift: Tuple[dt.datetime, ...] = ()            # late stamps that replace the slots before gap_from
    drift_from: dt.datetime | None = None          # first slot replaced by the drift stamps


def _t(day: int, hour: int, minute: int) -> dt.datetime:
    """Return a September 2020 datetime."""
    return dt.datetime(2020, 9, day, hour, minute)


# 2020-09-01: rows up to 04:05, no row 04:10..05:00, eleven rows stamped 05:04.
BURST_0901 = Burst(at=_t(1, 5, 4), gap_from=_t(1, 4, 10))
# 2020-09-14: the 03:00..03:40 runs drift 1-4 minutes late (one row per slot), nothing 03:45..04:38,
# eleven rows stamped 04:39 (the 03:45..04:35 slots caught up), so the day still holds 288 rows.
BURST_0914 = Burst(
    at=_t(14, 4, 39), gap_from=_t(14, 3, 45), drift_from=_t(14, 3, 0),
    drift=tuple(_t(14, h, m) for h, m in ((3, 1), (3, 7), (3, 13), (3, 19), (3, 24), (3, 28), (3, 33), (3, 39),
                                          (3, 44))),
)
INCIDENT_BURSTS: Tuple[Burst, ...] = (BURST_0901, BURST_0914)
BURST_ROWS = 11


def slots(start: dt.datetime = PERIOD_START, end: dt.datetime = PERIOD_END) -> List[dt.datetime]:
    """Return every 5-minute slot in [start, end)."""
    out, t = [], start
    while t < end:
        out.append(t)
        t += SLOT
    return out


def _burst_slots(burst: Burst) -> List[dt.datetime]:
    """Return the slots whose own rows are replaced by the drift stamps and the burst."""
    first = burst.drift_from or burst.gap_from
    return slots(first, burst.at)


def run_times(bursts: Sequence[Burst] = ()) -> List[dt.datetime]:
    """Return the minute each logger run was stamped with, one per slot, bursts applied, in order."""
    replaced = {t for b in bursts for t in _burst_slots(b)}
    out = [t for t in slots() if t not in replaced]
    for burst in bursts:
        caught_up = len(_burst_slots(burst)) - len(burst.drift)
        out += list(burst.drift) + [burst.at] * caught_up
    return sorted(out)


def temperature(at: dt.datetime, rng: random.Random, bursts: Sequence[Burst] = ()) -> float:
    """Return a board temperature in °C: 45-48 with a daily swing, plus ~9 °C around each burst."""
    hour = at.hour + at.minute / 60.0
    value = 46.5 + 1.2 * math.sin(2 * math.pi * (hour - 9.0) / 24.0) + rng.gauss(0.0, 0.25)
    for burst in bursts:
        value += _burst_rise((at - burst.at).total_seconds() / 60.0)
    return round(value, 1)


def _burst_rise(minutes: float) -> float:
    """Return the extra heat ``minutes`` after (negative: before) a burst: a ramp up, then a slower decay."""
    if -75.0 <= minutes <= 0.0:
        return 9.0 * (1.0 + minutes / 75.0)
    if 0.0 < minutes <= 60.0:
        return 9.0 * math.exp(-minutes / 20.0)
    return 0.0


def logger_rows(bursts: Sequence[Burst] = (), seed: int = 0) -> List[Tuple[str, float]]:
    """Return the logger's (timestamp, temperature) rows for the whole period."""
    rng = random.Random(seed)
    return [(stamp(t), temperature(t, rng, bursts)) for t in run_times(bursts)]


def stamp(at: dt.datetime) -> str:
    """Return the logger's timestamp text, e.g. "2020-09-01 05:04" (STAMP_FORMAT, without strftime's cost)."""
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"


def rows_per_day(rows: Sequence[Tuple[str, float]]) -> dict[str, int]:
    """Return how many rows each day holds (288 on every day of the simulated period)."""
    counts: dict[str, int] = {}
    for stamp, _ in rows:
        counts[stamp[:10]] = counts.get(stamp[:10], 0) + 1
    return counts
