"""Read the host-side system log summary (source ``log_summary``) into exact per-program volumes.

When a syslog/messages file is over its cap the workstation only gets its newest bytes, so the volumes it
could compute would describe the tail. The host then counts every file itself (see
``fleetaudit.collect.sources.SUMMARY_AWK`` for the TSV layout); this module parses that output, never
raising on damage, and turns it into ``ProgramVolume`` values for exactly the files the syslog scan read.
Years of traditional stamps follow ``stamps``' rule: the host runs the same year tracker and stamp cache over
the same lines in the same order and reports each stamp's provisional year offset; the newest traditional
line then decides the real year with ``stamps.year_delta``, as in ``parse.syslog``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from fleetaudit.facts import ProgramVolume
from fleetaudit.parse.stamps import MONTHS, PROVISIONAL_YEAR, parse_iso, with_year, year_delta

SAMPLE_CHARS = 200
_P_FIELDS = 9
_T_FIELDS = 9


@dataclass(frozen=True)
class ProgramCount:
    """One program's lines in one file, as the host counted them."""

    program: str
    lines: int
    bytes: int
    first_roll: int
    first: str
    last_roll: int
    last: str
    sample: str


@dataclass(frozen=True)
class FileSummary:
    """One summarised file; ``complete`` only when its closing ``T`` row arrived."""

    path: str
    size: int
    inode: int
    programs: Tuple[ProgramCount, ...] = ()
    lines: int = 0
    bytes: int = 0
    dated: int = 0
    undated: int = 0
    overflow_lines: int = 0
    overflow_bytes: int = 0
    last_traditional: str = ""
    last_traditional_roll: int = 0
    complete: bool = False


@dataclass(frozen=True)
class LogSummary:
    """The whole host-side summary: its files, or why none was made, and the rows that made no sense."""

    files: Tuple[FileSummary, ...] = ()
    not_needed: str = ""          # the host's reason when no file was over the cap
    bad_rows: int = 0


@dataclass(frozen=True)
class CountedVolumes:
    """Exact volumes for the files the syslog scan read, from the host's counts."""

    volumes: Tuple[ProgramVolume, ...]
    total_lines: int
    total_bytes: int
    files: Tuple[str, ...]
    note: str


@dataclass
class _Reader:
    """Mutable state while reading the summary rows."""

    files: List[FileSummary] = field(default_factory=list)
    current: Optional[FileSummary] = None
    programs: List[ProgramCount] = field(default_factory=list)
    not_needed: str = ""
    bad: int = 0

    def row(self, cells: List[str]) -> None:
        """Dispatch one TSV row."""
        kind = cells[0]
        if kind == "F" and len(cells) >= 4:
            self._close(None)
            self.current = FileSummary(cells[1], _int(cells[2]), _int(cells[3]))
        elif kind == "P" and self.current is not None and len(cells) >= _P_FIELDS:
            self.programs.append(_program(cells))
        elif kind == "T" and self.current is not None and len(cells) >= _T_FIELDS:
            self._close(cells)
        elif kind == "N" and len(cells) >= 2:
            self.not_needed = cells[1]
        else:
            self.bad += 1

    def _close(self, totals: Optional[List[str]]) -> None:
        """End the current file, complete when ``totals`` (its T row) is given."""
        if self.current is None:
            return
        done = _with_totals(self.current, totals) if totals is not None else self.current
        self.files.append(_replace_programs(done, tuple(self.programs)))
        self.current, self.programs = None, []

    def freeze(self) -> LogSummary:
        """Close a file left open (an incomplete summary) and return the result."""
        self._close(None)
        return LogSummary(tuple(self.files), self.not_needed, self.bad)


def _int(text: str) -> int:
    """Return an integer cell, 0 when it is not one."""
    text = text.strip()
    if text.startswith("-") and text[1:].isdigit():
        return -int(text[1:])
    return int(text) if text.isdigit() and len(text) < 20 else 0


def _program(cells: List[str]) -> ProgramCount:
    """Build one program row (the sample may itself hold no tab: the host replaced them)."""
    sample = "\t".join(cells[8:])[:SAMPLE_CHARS].rstrip("\ufffd")
    return ProgramCount(cells[1], _int(cells[2]), _int(cells[3]), _int(cells[4]), cells[5], _int(cells[6]),
                        cells[7], sample)


def _with_totals(f: FileSummary, c: List[str]) -> FileSummary:
    """Return the file with its T row applied (complete)."""
    return FileSummary(f.path, f.size, f.inode, (), _int(c[1]), _int(c[2]), _int(c[3]), _int(c[4]), _int(c[5]),
                       _int(c[6]), "" if c[7] == "-" else c[7], _int(c[8]), True)


def _replace_programs(f: FileSummary, programs: Tuple[ProgramCount, ...]) -> FileSummary:
    """Return the file with its program rows."""
    return FileSummary(f.path, f.size, f.inode, programs, f.lines, f.bytes, f.dated, f.undated, f.overflow_lines,
                       f.overflow_bytes, f.last_traditional, f.last_traditional_roll, f.complete)


def parse_summary(text: str) -> LogSummary:
    """Return the summary in ``text``; damaged rows are counted, an unfinished file is marked incomplete."""
    reader = _Reader()
    for line in text.replace("\x00", "").split("\n"):
        if line.strip():
            reader.row(line.rstrip("\r").split("\t"))
    return reader.freeze()


# --- from host counts to volumes --------------------------------------------------------------------------

def match_files(summary: LogSummary, rels: Sequence[str],
                inodes: Mapping[str, int]) -> Tuple[Optional[List[FileSummary]], str]:
    """Return the complete summaries of exactly the pulled files ``rels`` (oldest first), or why not.

    ``inodes`` (remote path -> inode at the pull, when the snapshot recorded it) guards against a rotation
    between the pull and the count.
    """
    by_path: Dict[str, FileSummary] = {f.path: f for f in summary.files}
    chosen: List[FileSummary] = []
    for rel in rels:
        remote = "/" + rel[len("files/"):] if rel.startswith("files/") else rel
        found = by_path.get(remote)
        if found is None or not found.complete:
            return None, f"the host's count of {remote} is {'incomplete' if found else 'missing'}"
        pulled = inodes.get(remote)
        if pulled is not None and pulled != found.inode:
            return None, f"{remote} was rotated between the pull and the count"
        chosen.append(found)
    return (chosen, "") if chosen else (None, "no file to count")


@dataclass
class _Acc:
    """One program's running totals over the files, with provisional datetimes."""

    lines: int = 0
    bytes: int = 0
    first: Optional[dt.datetime] = None
    last: Optional[dt.datetime] = None
    sample: str = ""


def _traditional(text: str, year: int) -> Optional[dt.datetime]:
    """Parse ``Mmm dd HH:MM:SS`` in ``year`` (29 Feb of a non-leap year becomes the 28th)."""
    month = MONTHS.get(text[:3])
    if month is None or len(text) != 15:
        return None
    try:
        values = [int(text[4:6]), int(text[7:9]), int(text[10:12]), int(text[13:15])]
        day = 28 if month == 2 and values[0] == 29 and not _leap(year) else values[0]
        return dt.datetime(year, month, day, values[1], values[2], values[3])
    except ValueError:
        return None


def _leap(year: int) -> bool:
    """Return True for a leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _stamp(text: str, roll: int) -> Optional[dt.datetime]:
    """Return a stamp: RFC 3339 as written (aware), traditional in its provisional year (``stamps``)."""
    if len(text) > 15 and text[:4].isdigit():
        return parse_iso(text)
    return _traditional(text, PROVISIONAL_YEAR + roll)


def _fold(files: Sequence[FileSummary]) -> Tuple[Dict[str, _Acc], Optional[dt.datetime]]:
    """Add up the programs over the files (oldest first); return them and the newest traditional stamp."""
    acc: Dict[str, _Acc] = {}
    newest: Optional[dt.datetime] = None
    for f in files:
        for p in f.programs:
            a = acc.get(p.program)
            if a is None:
                a = acc[p.program] = _Acc(first=_stamp(p.first, p.first_roll), sample=p.sample)
            a.lines += p.lines
            a.bytes += p.bytes
            a.last = _stamp(p.last, p.last_roll) or a.last
        if f.last_traditional:
            newest = _stamp(f.last_traditional, f.last_traditional_roll) or newest
    return acc, newest


def _fix(stamp: Optional[dt.datetime], delta: int) -> Optional[dt.datetime]:
    """Give a provisional traditional stamp its real year; aware stamps are already right."""
    return stamp if stamp is None or stamp.tzinfo is not None else with_year(stamp, delta)


def counted_volumes(files: Sequence[FileSummary], reference: Optional[dt.datetime],
                    hints: Sequence[dt.datetime] = ()) -> CountedVolumes:
    """Return exact volumes and totals over ``files`` (oldest first), years inferred as the syslog scan does."""
    acc, newest = _fold(files)
    delta = year_delta(newest, reference, hints) if newest is not None else 0
    volumes = tuple(sorted((ProgramVolume(name, a.lines, a.bytes, _fix(a.first, delta), _fix(a.last, delta),
                                          a.sample) for name, a in acc.items()), key=lambda v: -v.lines))
    lines = sum(f.dated for f in files)
    total = sum(f.bytes for f in files)
    names = tuple(f.path for f in files)
    overflow = sum(f.overflow_lines for f in files)
    note = (f"counted on the host: {len(files)} file{'s' if len(files) != 1 else ''}, {lines:,} lines, "
            f"{total:,} bytes" + (f" ({overflow:,} lines of programs past the per-file limit of 1000 programs "
                                  "are in the totals only)" if overflow else ""))
    return CountedVolumes(volumes, lines, total, names, note)

