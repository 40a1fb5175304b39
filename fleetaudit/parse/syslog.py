"""Stream syslog/messages/journal files into summaries: volumes, cron runs, clock, systemd, boots, coverage.

Traditional stamps get their year from ``stamps.year_delta`` (rule documented in ``stamps``); RFC 3339 and
journal (``short-iso-precise``) stamps are aware. Nothing big is kept: per-program counters plus the events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from fleetaudit.facts import ClockEvent, CronRun, LogCoverage, ProgramVolume, ReadStats, SystemdMessage
from fleetaudit.parse import syslog_events as ev
from fleetaudit.parse.lines import StatsBuilder, iter_blocks
from fleetaudit.parse.stamps import LineDater, TagSplitter, naive, with_year, year_delta

BACKWARDS_SLACK = dt.timedelta(seconds=60)
MAX_EVENTS = 200_000
SAMPLE_CHARS = 300
BOOT_MERGE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SyslogResult:
    """Everything one log source yields (datetimes already in their real year)."""

    coverage: LogCoverage
    stats: ReadStats
    volumes: Tuple[ProgramVolume, ...] = ()
    total_lines: int = 0
    total_bytes: int = 0
    cron_runs: Tuple[CronRun, ...] = ()
    clock_events: Tuple[ClockEvent, ...] = ()
    systemd_messages: Tuple[SystemdMessage, ...] = ()
    boots: Tuple[dt.datetime, ...] = ()


class _Volume:
    """Running per-program counters."""

    __slots__ = ("lines", "bytes", "first", "last", "sample")

    def __init__(self, first: dt.datetime, sample: str) -> None:
        """Start counting a program at its first line."""
        self.lines = 0
        self.bytes = 0
        self.first: Optional[dt.datetime] = first
        self.last: Optional[dt.datetime] = first
        self.sample = sample


@dataclass
class _Scan:
    """Mutable state of one pass over a log source's files, oldest first."""

    source: str
    silence: dt.timedelta
    stats: StatsBuilder
    dater: LineDater = field(default_factory=LineDater)
    tags: TagSplitter = field(default_factory=TagSplitter)
    volumes: Dict[str, _Volume] = field(default_factory=dict)
    total_bytes: int = 0
    first: Optional[dt.datetime] = None
    last: Optional[dt.datetime] = None
    last_naive: Optional[dt.datetime] = None
    last_traditional: Optional[dt.datetime] = None
    backwards: List[Tuple[str, dt.datetime, dt.datetime]] = field(default_factory=list)
    silences: List[Tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    cron: List[CronRun] = field(default_factory=list)
    clock: List[ClockEvent] = field(default_factory=list)
    systemd: List[SystemdMessage] = field(default_factory=list)
    boots: Dict[str, List[dt.datetime]] = field(default_factory=dict)
    boot_marker: bool = False

    def feed(self, path: str, rel: str) -> None:
        """Read one file, a block of lines at a time."""
        for texts, sizes in iter_blocks(path, rel, self.stats):
            self.total_bytes += sum(sizes)
            self.block(rel, texts, sizes)

    def block(self, rel: str, texts: List[str], sizes: List[int]) -> None:
        """Account for a block of lines (the hot loop: ``line`` inlined with its lookups bound to locals).

        ``dater.cached`` and ``tags.cached`` answer repeated stamps and repeated ``host tag: message`` rests
        (a flooding program) without a call; a key found in the stamp cache came from a traditional line, so
        the only check left is the space after it. A line stamped with the very object of the line before
        (same second, from the dater's cache) cannot move the coverage, so ``_time`` is skipped for it unless
        a journal boot marker is pending.
        """
        date, split, volumes, events = self.dater.date, self.tags.split, self.volumes, ev.EVENT_PROGRAMS
        stamps, tags = self.dater.cached, self.tags.cached
        same_ok = self.silence >= dt.timedelta(0)
        for line, size in zip(texts, sizes):
            stamp = stamps(line[:15])
            if stamp is not None and line[15:16] == " ":
                end = 16
            else:
                dated = date(line)
                if dated is None:
                    self._undated(line)
                    continue
                stamp, end = dated
            rest = line[end:]
            tag = tags(rest)
            if tag is None:
                tag = split(rest)
            program = tag[1]
            if stamp is not self.last or self.boot_marker or not same_ok:
                self._time(rel, stamp)
            vol = volumes.get(program)
            if vol is None:
                vol = volumes[program] = _Volume(stamp, tag[3][:SAMPLE_CHARS])
            vol.lines += 1
            vol.bytes += size
            vol.last = stamp
            if program in events:
                self._events(program, tag[2], tag[3], stamp, line)

    def line(self, rel: str, line: str, size: int) -> None:
        """Account for one line."""
        self.block(rel, [line], [size])

    def _undated(self, line: str) -> None:
        """Handle a line without a stamp: journal markers, blank lines, or damage."""
        if line.startswith("-- "):
            self.boot_marker = self.boot_marker or line.startswith(("-- Boot", "-- Reboot"))
        elif line.strip():
            self.stats.bad_lines += 1

    def _step(self, stamp: dt.datetime, wall: dt.datetime) -> dt.timedelta:
        """Return the time since the previous line: exact when both carry an offset (a DST change is no step)."""
        if self.last is not None and stamp.tzinfo is not None and self.last.tzinfo is not None:
            return stamp - self.last
        return wall - self.last_naive if self.last_naive is not None else dt.timedelta(0)

    def _time(self, rel: str, stamp: dt.datetime) -> None:
        """Track coverage: first/last, time going backwards, silences."""
        wall = stamp if stamp.tzinfo is None else stamp.replace(tzinfo=None)
        if stamp.tzinfo is None:
            self.last_traditional = stamp
        if self.first is None:
            self.first = stamp
        prev = self.last_naive
        step = self._step(stamp, wall)
        if prev is not None and step < -BACKWARDS_SLACK and len(self.backwards) < MAX_EVENTS:
            self.backwards.append((rel, prev, wall))
            self.clock.append(ClockEvent(stamp, step.total_seconds(), "log-backwards",
                                         f"{rel}: time went back from {prev.isoformat()} to {wall.isoformat()}"))
        elif prev is not None and step > self.silence and len(self.silences) < MAX_EVENTS:
            self.silences.append((prev, wall))
        self.last_naive = wall
        self.last = stamp
        if self.boot_marker:
            self.boot_marker = False
            self.boots.setdefault("journal", []).append(stamp)

    def _events(self, program: str, pid: Optional[int], message: str, stamp: dt.datetime, line: str) -> None:
        """Extract cron runs, systemd unit lines, clock steps and boots."""
        if program in ev.CRON_IDENTS:
            found = ev.classify_cron(message)
            if found is not None and found[1] and len(self.cron) < MAX_EVENTS:
                self.cron.append(CronRun(stamp, found[0], found[1], pid, line))
            return
        if program == "systemd" and len(self.systemd) < MAX_EVENTS:
            unit = ev.classify_systemd(message)
            if unit is not None:
                self.systemd.append(SystemdMessage(stamp, unit[0], unit[1], line))
        if ev.is_clock_message(program, message) and len(self.clock) < MAX_EVENTS:
            self.clock.append(ClockEvent(stamp, None, ev.clock_source(program), line))
        kind = ev.boot_kind(program, pid, message)
        if kind:
            self.boots.setdefault(kind, []).append(stamp)


def scan_syslog(files: Sequence[Tuple[str, str]], source: str = "syslog", reference: Optional[dt.datetime] = None,
                year_hints: Sequence[dt.datetime] = (), silence_minutes: int = 120,
                truncated: bool = False) -> SyslogResult:
    """Summarise one log source; ``files`` are (path on disk, snapshot-relative name), oldest first."""
    scan = _Scan(source, dt.timedelta(minutes=silence_minutes), StatsBuilder(source))
    for path, rel in files:
        scan.feed(path, rel)
    delta = year_delta(scan.last_traditional, reference, year_hints) if scan.last_traditional else 0
    return _freeze(scan, delta, truncated)


def _fix(stamp: dt.datetime, delta: int) -> dt.datetime:
    """Give a provisional (naive, traditional) stamp its real year; aware stamps are already right."""
    return with_year(stamp, delta) if stamp.tzinfo is None else stamp


def _fix_opt(stamp: Optional[dt.datetime], delta: int) -> Optional[dt.datetime]:
    """``_fix`` for an optional stamp."""
    return None if stamp is None else _fix(stamp, delta)


def _freeze(scan: _Scan, delta: int, truncated: bool) -> SyslogResult:
    """Build the frozen result, shifting provisional years by ``delta``."""
    f = _fix
    coverage = LogCoverage(
        scan.source, _fix_opt(scan.first, delta), _fix_opt(scan.last, delta), tuple(scan.stats.files),
        tuple((name, f(a, delta), f(b, delta)) for name, a, b in scan.backwards),
        tuple((f(a, delta), f(b, delta)) for a, b in scan.silences), tuple(scan.stats.ended_mid_line), truncated)
    volumes = tuple(sorted((ProgramVolume(name, v.lines, v.bytes, _fix_opt(v.first, delta), _fix_opt(v.last, delta),
                                          v.sample) for name, v in scan.volumes.items()), key=lambda p: -p.lines))
    return SyslogResult(
        coverage, scan.stats.freeze(), volumes, sum(v.lines for v in volumes), scan.total_bytes,
        tuple(CronRun(f(c.at, delta), c.user, c.command, c.pid, c.line) for c in scan.cron),
        tuple(ClockEvent(f(c.at, delta), c.delta_seconds, c.source, c.line) for c in scan.clock),
        tuple(SystemdMessage(f(s.at, delta), s.unit, s.action, s.line) for s in scan.systemd),
        _boots(scan.boots, delta))


def _boots(found: Dict[str, List[dt.datetime]], delta: int) -> Tuple[dt.datetime, ...]:
    """Merge boot markers within 10 minutes; rsyslogd starts count only when no kernel line says so."""
    kinds = [k for k in found if k != "rsyslogd" or "kernel" not in found]
    stamps = sorted((_fix(s, delta) for k in kinds for s in found[k]), key=naive)
    merged: List[dt.datetime] = []
    for stamp in stamps:
        if not merged or naive(stamp) - naive(merged[-1]) > BOOT_MERGE:
            merged.append(stamp)
    return tuple(merged)
