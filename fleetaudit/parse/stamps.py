"""Syslog line prefixes: traditional (no year) and RFC 3339 / ISO timestamps, host and tag.

Year inference for traditional ``Sep  4 05:17:01`` stamps (documented rule):
  1. Files are read oldest first with a provisional year (2000). A month going backwards by 6 or more
     (Dec -> Jan) starts the next year; a month going forward by 6 or more right after such a step undoes it
     (a clock that booted at 1 Jan and was then set by NTP is not two new years).
  2. At the end the newest line decides the real year. From the reference date (the host clock at
     collection, else the snapshot time, else the newest file's mtime): the newest line is in the reference's
     year unless that puts it more than a day after the reference, then the year before. But when that
     would put it more than a year after the newest year-bearing evidence of the same host (logger rows,
     SoftEther lines) — an archived or simulated host audited long after its logs ended — the newest line
     gets the latest year that keeps it at most half a year after that evidence (a log partition that
     filled days before the logger stopped, or a logger that died months before syslog did, both fit).
  3. Every provisional datetime is shifted by the difference; 29 February in a non-leap year becomes the 28th.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Dict, Iterable, Optional, Tuple

MONTHS: Dict[str, int] = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
PROVISIONAL_YEAR = 2000
HALF_YEAR = dt.timedelta(days=183)
TAG_RE = re.compile(r"(\S+) ([^\s\[:]+)(?:\[(\d+)\])?: ?(.*)", re.S)
TAG_HEAD_RE = re.compile(r"(\S+) ([^\s\[:]+)(?:\[(\d+)\])?:")
SECONDS: Dict[str, int] = {f"{s:02d}": s for s in range(60)}
SECOND_STEPS = tuple(dt.timedelta(seconds=s) for s in range(60))
_TZ_CACHE: Dict[str, dt.tzinfo] = {}


def tz_from(text: str) -> Optional[dt.tzinfo]:
    """Return a fixed-offset tzinfo for 'Z', '+09:00' or '+0900', or None when it is not an offset."""
    found = _TZ_CACHE.get(text)
    if found is not None:
        return found
    if text == "Z":
        zone: dt.tzinfo = dt.timezone.utc
    else:
        digits = text[1:].replace(":", "")
        if text[:1] not in "+-" or len(digits) != 4 or not digits.isdigit():
            return None
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        zone = dt.timezone(dt.timedelta(minutes=-minutes if text[0] == "-" else minutes))
    _TZ_CACHE[text] = zone
    return zone


def parse_iso(ts: str) -> Optional[dt.datetime]:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|+HHMM]`` (also with a space for T) without strptime."""
    if len(ts) < 19 or ts[4] != "-" or ts[7] != "-" or ts[10] not in "T " or ts[13] != ":" or ts[16] != ":":
        return None
    i, micro = 19, 0
    if len(ts) > 19 and ts[19] in ".,":
        j = 20
        while j < len(ts) and ts[j].isdigit():
            j += 1
        frac = ts[20:j]
        micro = int((frac + "000000")[:6]) if frac else 0
        i = j
    zone = tz_from(ts[i:]) if i < len(ts) else None
    if i < len(ts) and zone is None:
        return None
    try:
        return dt.datetime(int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]),
                           int(ts[17:19]), micro, zone)
    except ValueError:
        return None


class YearTracker:
    """Provisional year for traditional stamps, bumped on a Dec -> Jan rollover (rule in the module doc)."""

    def __init__(self) -> None:
        """Start at the provisional year with no month seen."""
        self.year = PROVISIONAL_YEAR
        self.month = 0
        self.bumped = False

    def year_for(self, month: int) -> int:
        """Return the provisional year of a line in ``month``."""
        if self.month and self.month - month >= 6:
            self.year += 1
            self.bumped = True
        elif self.month and month - self.month >= 6 and self.bumped:
            self.year -= 1
            self.bumped = False
        self.month = month
        return self.year


class LineDater:
    """Parse the timestamp prefix of syslog lines, caching recent stamps (many lines share a second).

    The cache is dropped whenever the provisional year changes, so a cached stamp never carries a stale year.
    """

    def __init__(self) -> None:
        """Create a dater with a fresh year tracker."""
        self.years = YearTracker()
        self.traditional = 0
        self.aware = 0
        self._cache: Dict[str, dt.datetime] = {}
        self._year = PROVISIONAL_YEAR
        self._minutes: Dict[str, Tuple[int, int, dt.datetime]] = {}
        self.cached = self._cache.get  # the stamp of a key seen before (traditional keys are 15 characters)

    def date(self, line: str) -> Optional[Tuple[dt.datetime, int]]:
        """Return (datetime, index after the stamp and its space) or None when the line has no stamp."""
        if len(line) > 15 and line[3] == " " and line[9] == ":" and line[15] == " ":
            key, end = line[:15], 16
        else:
            end = line.find(" ")
            if end < 19:
                return None
            key, end = line[:end], end + 1
        cached = self._cache.get(key)
        if cached is not None:
            return cached, end
        stamp = self._traditional(key) if end == 16 else parse_iso(key)
        if stamp is None:
            return None
        if len(self._cache) > 4096 or self.years.year != self._year:
            self._cache.clear()
            self._year = self.years.year
        self._cache[key] = stamp
        return stamp, end

    def _traditional(self, key: str) -> Optional[dt.datetime]:
        """Parse ``Mmm dd HH:MM:SS`` with the provisional year, reusing the parsed minute of earlier lines."""
        minute = self._minutes.get(key[:12])
        second = SECONDS.get(key[13:15])
        if minute is None or second is None or key[12] != ":":
            return self._traditional_slow(key)
        month, base_year, base = minute
        years = self.years
        year = years.year if month == years.month else years.year_for(month)
        self.traditional += 1
        if year == base_year:
            return base + SECOND_STEPS[second]
        return self._traditional_slow(key, year)

    def _traditional_slow(self, key: str, year: int = 0) -> Optional[dt.datetime]:
        """Parse a traditional stamp field by field; ``year`` given when the year tracker was already asked."""
        month = MONTHS.get(key[:3])
        if month is None or key[12] != ":":
            return None
        try:
            day, hour, minute, second = int(key[4:6]), int(key[7:9]), int(key[10:12]), int(key[13:15])
        except ValueError:
            return None
        if not year:
            year = self.years.year_for(month)
            self.traditional += 1
        try:
            base = dt.datetime(year, month, day, hour, minute)
        except ValueError:
            return _clamped(year, month, day, hour, minute, second)
        if len(self._minutes) > 4096:
            self._minutes.clear()
        self._minutes[key[:12]] = (month, year, base)
        try:
            return dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None


def _clamped(year: int, month: int, day: int, hour: int, minute: int, second: int) -> Optional[dt.datetime]:
    """Return the datetime with 29 Feb of a non-leap year moved to the 28th; None for other bad values."""
    if month == 2 and day == 29:
        try:
            return dt.datetime(year, 2, 28, hour, minute, second)
        except ValueError:
            return None
    return None


def split_tag(rest: str) -> Tuple[str, str, Optional[int], str]:
    """Split ``host prog[pid]: msg`` into (host, program, pid, message); program '' when there is no tag.

    One precompiled regex: measured faster in CPython than a str.find-based split.
    """
    m = TAG_RE.match(rest)
    if m is None:
        host, _, msg = rest.partition(" ")
        return host, "", None, msg
    pid = m.group(3)
    return m.group(1), m.group(2), int(pid) if pid and len(pid) < 10 else None, m.group(4)


class TagSplitter:
    """``split_tag`` with the ``host prog[pid]:`` head of each line looked up in a small cache.

    The regex can only match with its colon at the first ':' after the first space, so the head up to there
    decides the match; lines whose head does not match go to ``split_tag`` itself.
    """

    def __init__(self) -> None:
        """Start with an empty head cache."""
        self._heads: Dict[str, Tuple[str, str, Optional[int]]] = {}
        self._rests: Dict[str, Tuple[str, str, Optional[int], str]] = {}
        self.cached = self._rests.get  # the split of a whole rest seen before (a flooding program's line)

    def split(self, rest: str) -> Tuple[str, str, Optional[int], str]:
        """Return what ``split_tag(rest)`` returns (and remember it for ``cached``)."""
        found = self._split(rest)
        if len(self._rests) > 1024:
            self._rests.clear()
        self._rests[rest] = found
        return found

    def _split(self, rest: str) -> Tuple[str, str, Optional[int], str]:
        """Split one rest through the head cache."""
        space = rest.find(" ")
        colon = rest.find(":", space + 1) if space >= 0 else -1
        if colon < 0:
            return split_tag(rest)
        head = rest[:colon + 1]
        tag = self._heads.get(head)
        if tag is None:
            tag = self._head(head)
        if not tag:
            return split_tag(rest)
        if rest[colon + 1:colon + 2] == " ":
            return tag[0], tag[1], tag[2], rest[colon + 2:]
        return tag[0], tag[1], tag[2], rest[colon + 1:]

    def _head(self, head: str) -> Tuple[str, str, Optional[int]]:
        """Parse and cache one head; an empty tuple when it is no tag."""
        m = TAG_HEAD_RE.fullmatch(head)
        pid = m.group(3) if m is not None else None
        found = (m.group(1), m.group(2), int(pid) if pid and len(pid) < 10 else None) if m is not None else ()
        if len(self._heads) > 4096:
            self._heads.clear()
        self._heads[head] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]


def with_year(stamp: dt.datetime, delta: int) -> dt.datetime:
    """Shift a datetime by ``delta`` years (29 Feb becomes 28 Feb in a non-leap year)."""
    if not delta:
        return stamp
    try:
        return stamp.replace(year=stamp.year + delta)
    except ValueError:
        return stamp.replace(year=stamp.year + delta, day=28)


def naive(stamp: dt.datetime) -> dt.datetime:
    """Return the wall-clock (naive) form of a possibly aware datetime, for ordering mixed stamps."""
    return stamp.replace(tzinfo=None) if stamp.tzinfo is not None else stamp


def year_delta(last: dt.datetime, reference: Optional[dt.datetime], hints: Iterable[dt.datetime]) -> int:
    """Return the years to add to provisional stamps so that ``last`` (the newest line) gets its real year."""
    ref = naive(reference) if reference is not None else dt.datetime.now()
    year = ref.year
    if with_year(last, year - last.year) > ref + dt.timedelta(days=1):
        year -= 1
    evidence = [naive(h) for h in hints]
    if evidence:
        newest = max(evidence)
        if with_year(last, year - last.year) - newest > dt.timedelta(days=366):
            year = newest.year + 1
            while year > newest.year - 2 and with_year(last, year - last.year) > newest + HALF_YEAR:
                year -= 1
    return year - last.year
