"""Crontab files into ``CronJob``s, each told wildcard or fixed-time the way Debian cron does (FORMATS.md s.1).

``wildcard`` is true when the minute field's first character is ``*`` (MIN_STAR) or the hour field's is
(HR_STAR), or for ``@hourly``; ``@daily``/``@weekly``/``@monthly``/``@yearly`` are fixed-time; ``@reboot`` is
neither. ``catches_up = not wildcard and not @reboot``.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from fleetaudit.facts import CronJob
from fleetaudit.parse.lines import StatsBuilder, iter_lines

NAMES: Dict[str, int] = {n: i for i, n in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
DAYS: Dict[str, int] = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
KEYWORDS: Dict[str, Tuple[str, str]] = {
    "@yearly": ("0", "0"), "@annually": ("0", "0"), "@monthly": ("0", "0"), "@weekly": ("0", "0"),
    "@daily": ("0", "0"), "@midnight": ("0", "0"), "@hourly": ("0", "*"),
}
PERIODS: Dict[str, int] = {"@hourly": 60, "@daily": 1440, "@midnight": 1440}
ENV_RE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=")


def expand(field: str, low: int, high: int, names: Optional[Dict[str, int]] = None) -> Optional[Tuple[int, ...]]:
    """Expand a cron field (lists, ranges, steps, names) into the sorted set of values; None when invalid."""
    values: set[int] = set()
    for part in field.split(","):
        got = _expand_part(part.lower(), low, high, names or {})
        if got is None:
            return None
        values.update(got)
    return tuple(sorted(values)) if values else None


def _value(text: str, names: Dict[str, int]) -> Optional[int]:
    """Return a field value, accepting names (jan, mon)."""
    if text.isdigit():
        return int(text)
    return names.get(text[:3]) if text else None


def _expand_part(part: str, low: int, high: int, names: Dict[str, int]) -> Optional[List[int]]:
    """Expand one list element: ``*``, ``N``, ``A-B``, any of them with ``/step``."""
    base, _slash, step_text = part.partition("/")
    step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else (1 if not _slash else 0)
    if not step:
        return None
    if base == "*":
        start, end = low, high
    else:
        first, dash, last = base.partition("-")
        a, b = _value(first, names), _value(last, names) if dash else None
        if a is None or (dash and b is None):
            return None
        start, end = a, (b if b is not None else (high if _slash else a))
    if start < low or end > high + (1 if high == 6 else 0) or start > end:
        return None
    return [v % 7 if high == 6 else v for v in range(start, end + 1, step)]


def interval_of(minutes: Sequence[int], hours: Sequence[int]) -> Optional[int]:
    """Return the period in minutes when the runs are evenly spaced over the whole day, else None."""
    if len(hours) == 24 and minutes and _even(minutes, 60):
        return 60 // len(minutes)
    if len(minutes) == 1 and hours and _even(hours, 24):
        return (24 // len(hours)) * 60
    return None


def _even(values: Sequence[int], period: int) -> bool:
    """Tell whether values are evenly spaced around a cycle of ``period``."""
    if period % len(values):
        return False
    step = period // len(values)
    return all((b - a) == step for a, b in zip(values, values[1:]))


def parse_line(line: str, file: str, lineno: int, user: Optional[str]) -> Optional[CronJob]:
    """Parse one crontab line; ``user`` None means a system crontab with a user field. None when not a job."""
    text = line.strip()
    if not text or text.startswith("#") or ENV_RE.match(text):
        return None
    if text.startswith("@"):
        return _keyword_job(text, file, lineno, user)
    need = 7 if user is None else 6
    fields = text.split(None, need - 1)
    if len(fields) < need:
        return None
    return _job(fields[:5], fields[5] if user is None else user, fields[-1], file, lineno)


def _job(f: List[str], user: str, command: str, file: str, lineno: int) -> Optional[CronJob]:
    """Build a job from the five time fields."""
    minutes, hours = expand(f[0], 0, 59), expand(f[1], 0, 23)
    checks = (expand(f[2], 1, 31), expand(f[3], 1, 12, NAMES), expand(f[4], 0, 6, DAYS))
    if minutes is None or hours is None or any(c is None for c in checks):
        return None
    wildcard = f[0].startswith("*") or f[1].startswith("*")
    daily = all(x == "*" for x in f[2:5])
    return CronJob(file, lineno, user, " ".join(f), command, wildcard, not wildcard,
                   interval_of(minutes, hours) if daily else None, minutes, hours)


def _keyword_job(text: str, file: str, lineno: int, user: Optional[str]) -> Optional[CronJob]:
    """Build a job from an @keyword line."""
    parts = text.split(None, 1 if user is not None else 2)
    keyword = parts[0].lower()
    if len(parts) < (2 if user is not None else 3) or (keyword not in KEYWORDS and keyword != "@reboot"):
        return None
    owner = user if user is not None else parts[1]
    if keyword == "@reboot":
        return CronJob(file, lineno, owner, parts[0], parts[-1], False, False, None)
    hour = KEYWORDS[keyword][1]
    hours = tuple(range(24)) if hour == "*" else (0,)
    return CronJob(file, lineno, owner, parts[0], parts[-1], hour == "*", hour != "*",
                   PERIODS.get(keyword), (0,), hours)


def crontab_user(rel: str) -> Optional[str]:
    """Return the user of a per-user crontab (file name under crontabs/), None for system crontabs."""
    parts = rel.replace("\\", "/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "crontabs" else None


def parse_crontabs(files: Sequence[Tuple[str, str]]) -> Tuple[Tuple[CronJob, ...], StatsBuilder]:
    """Read crontab files (path, snapshot name) into jobs; lines that are neither job, env nor comment count bad."""
    stats = StatsBuilder("crontabs")
    jobs: List[CronJob] = []
    for path, rel in files:
        if os.path.basename(rel).startswith(".") or rel.endswith((".dpkg-dist", ".dpkg-old", "~")):
            continue
        user = crontab_user(rel)
        for lineno, line, _size in iter_lines(path, rel, stats):
            job = parse_line(line, rel, lineno, user)
            if job is not None:
                jobs.append(job)
            elif line.strip() and not line.lstrip().startswith("#") and not ENV_RE.match(line):
                stats.bad_lines += 1
    return tuple(jobs), stats
