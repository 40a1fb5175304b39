"""systemd OnCalendar schedules: parse the common forms and tell whether a timer fires within a window.

Split out of ``fleetaudit.timeline`` (which re-exports ``parse_calendar`` and ``timer_fires_within``);
times are naive host-local wall-clock values, like everything on the timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence


def _naive(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is None else at.replace(tzinfo=None)


# --- OnCalendar: the common forms (shorthands, "[DOW] [Y-M-D] [H:M[:S]]", lists, ranges "a..b", steps) ---

_SHORTHANDS = {
    "minutely": "*-*-* *:*:00", "hourly": "*-*-* *:00:00", "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00", "monthly": "*-*-01 00:00:00", "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00", "quarterly": "*-01,04,07,10-01 00:00:00", "semiannually": "*-01,07-01 00:00:00",
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CalendarSpec:
    """An understood OnCalendar expression as sets of allowed values (minute resolution)."""

    weekdays: FrozenSet[int]
    years: FrozenSet[int]
    months: FrozenSet[int]
    days: FrozenSet[int]
    hours: FrozenSet[int]
    minutes: FrozenSet[int]


def _range_part(part: str, lo: int, hi: int) -> FrozenSet[int]:
    step = 1
    if "/" in part:
        part, step_text = part.split("/", 1)
        step = int(step_text)
    if part == "*":
        first, last = lo, hi
    elif ".." in part:
        first, last = (int(x) for x in part.split("..", 1))
    else:
        first = int(part)
        last = first if step == 1 else hi
    return frozenset(v for v in range(first, last + 1, max(step, 1)) if lo <= v <= hi)


def _values(field: str, lo: int, hi: int) -> FrozenSet[int]:
    """Expand one calendar field ("*", "6,18", "1..5", "0/15"); raise ValueError when not understood."""
    out: FrozenSet[int] = frozenset()
    for part in field.split(","):
        out = out | _range_part(part, lo, hi)
    return out


def _weekdays(field: str) -> FrozenSet[int]:
    out: List[int] = []
    for part in field.lower().split(","):
        ends = part.split("..") if ".." in part else part.split("-")
        first, last = _DAYS.index(ends[0][:3]), _DAYS.index(ends[-1][:3])
        out.extend(range(first, last + 1))
    return frozenset(out)


def parse_calendar(expr: str) -> Optional[CalendarSpec]:
    """Parse an OnCalendar expression of a common form, or return None when it is not understood."""
    tokens = _SHORTHANDS.get(expr.strip().lower(), expr.strip()).split()
    if not tokens:
        return None
    try:
        weekdays = _weekdays(tokens.pop(0)) if tokens and tokens[0][:1].isalpha() else frozenset(range(7))
        date = tokens.pop(0) if tokens and ":" not in tokens[0] else "*-*-*"
        clock = tokens.pop(0) if tokens else "00:00:00"
        dparts, tparts = date.split("-"), clock.split(":")
        dparts = ["*"] + dparts if len(dparts) == 2 else dparts
        if tokens or len(dparts) != 3 or len(tparts) not in (2, 3):
            return None
        return CalendarSpec(weekdays, _values(dparts[0], 1970, 2200), _values(dparts[1], 1, 12),
                            _values(dparts[2], 1, 31), _values(tparts[0], 0, 23), _values(tparts[1], 0, 59))
    except (ValueError, IndexError):
        return None


def _fires(spec: CalendarSpec, spread: dt.timedelta, start: dt.datetime, end: dt.datetime) -> bool:
    day = (start - spread).date() - dt.timedelta(days=1)
    while day <= end.date():
        if day.weekday() in spec.weekdays and day.year in spec.years and day.month in spec.months \
                and day.day in spec.days:
            for hour in spec.hours:
                for minute in spec.minutes:
                    fire = dt.datetime(day.year, day.month, day.day, hour, minute)
                    if fire <= end and fire + spread >= start:
                        return True
        day += dt.timedelta(days=1)
    return False


def timer_fires_within(on_calendar: Sequence[str], spread_s: int, start: dt.datetime,
                       end: dt.datetime) -> Optional[bool]:
    """Say whether any [fire, fire + spread_s] of the schedules overlaps [start, end]; None if not understood.

    An understood expression that fires wins over one that is not understood; with no expression at all
    (a timer driven only by OnBootSec etc.) the answer is None.
    """
    specs = [parse_calendar(expr) for expr in on_calendar]
    spread = dt.timedelta(seconds=max(spread_s, 0))
    if any(s is not None and _fires(s, spread, _naive(start), _naive(end)) for s in specs):
        return True
    return None if not specs or None in specs else False
