"""The periodic logger's SQLite DB into ``LoggerData``: table, stamp column and interval given or detected.

Auto-detection: the first table with a text column whose sampled values parse as ``YYYY-MM-DD HH:MM[:SS]``;
the interval is the median difference between consecutive distinct stamps, rounded to minutes. The
temperature column is a numeric column named like temp/temperature/soc/cpu, the ambient column one named
like ambient/room/outside. A corrupt, locked, non-SQLite file or a wrong schema sets ``error``.
"""

from __future__ import annotations

import datetime as dt
import operator
import sqlite3
import urllib.parse
from collections import Counter
from typing import Any, List, Optional, Sequence, Tuple

from fleetaudit.facts import LoggerData, LoggerRow
from fleetaudit.model import LoggerSpec

TEMP_WORDS = ("temperature", "temp", "soc", "cpu")
AMBIENT_WORDS = ("ambient", "room", "outside", "outdoor")
SAMPLE = 20


def parse_stamp(text: object) -> Optional[dt.datetime]:
    """Parse 'YYYY-MM-DD HH:MM[:SS[.fff]]' (or with T) without strptime; None otherwise."""
    if not isinstance(text, str) or len(text) < 16 or text[4] != "-" or text[10] not in " T" or text[13] != ":":
        return None
    try:
        second = int(text[17:19]) if len(text) >= 19 and text[16] == ":" else 0
        return dt.datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                           second)
    except ValueError:
        return None


def _connect(path: str) -> sqlite3.Connection:
    """Open the DB read-only (immutable: a snapshot copy never changes)."""
    uri = "file:" + urllib.parse.quote(path) + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=1.0)


def _columns(db: sqlite3.Connection, table: str) -> List[Tuple[str, str]]:
    """Return (name, declared type) of a table's columns."""
    return [(str(r[1]), str(r[2] or "").upper()) for r in db.execute(f"PRAGMA table_info({_q(table)})")]


def _q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _tables(db: sqlite3.Connection) -> List[str]:
    """Return the user tables, in creation order."""
    return [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                          "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]


def _is_stamp_column(db: sqlite3.Connection, table: str, column: str) -> bool:
    """Tell whether a sample of a column's values parse as datetimes."""
    values = [r[0] for r in db.execute(f"SELECT {_q(column)} FROM {_q(table)} LIMIT {SAMPLE}")]
    return bool(values) and all(parse_stamp(v) is not None for v in values)


def detect_stamp(db: sqlite3.Connection, table: Optional[str]) -> Optional[Tuple[str, str]]:
    """Return (table, column) of the first timestamp-like text column."""
    for name in [table] if table else _tables(db):
        for column, _type in _columns(db, name):
            if _is_stamp_column(db, name, column):
                return name, column
    return None


def _named(columns: Sequence[Tuple[str, str]], words: Sequence[str], skip: Sequence[str],
           exclude: Sequence[str] = ()) -> Optional[str]:
    """Return the first numeric-or-untyped column whose name contains one of ``words`` (none of ``exclude``)."""
    for word in words:
        for name, kind in columns:
            if name in skip or kind.startswith(("TEXT", "CHAR", "VARCHAR", "BLOB")):
                continue
            if any(x in name.lower() for x in exclude):
                continue
            if word in name.lower():
                return name
    return None


def interval_of(stamps: Sequence[dt.datetime]) -> Optional[int]:
    """Return the median step between consecutive distinct stamps, in whole minutes (None if unknown)."""
    later = stamps[1:]
    if all(map(operator.lt, stamps, later)):          # the usual case: strictly increasing already
        distinct, later = stamps, later
    else:
        distinct = sorted(set(stamps))
        later = distinct[1:]
    # A year of rows has few distinct steps: count them, then take statistics.median's middle element(s)
    # (minutes grow with the step, so the step order is the order statistics.median sorts the minutes in).
    counts = sorted(Counter(map(operator.sub, later, distinct)).items())
    total = sum(n for _step, n in counts)
    if not total:
        return None
    wanted = (total // 2,) if total % 2 else (total // 2 - 1, total // 2)
    picked: List[float] = []
    seen = 0
    for step, n in counts:
        while len(picked) < len(wanted) and wanted[len(picked)] < seen + n:
            picked.append(step.total_seconds() / 60)
        seen += n
    median = picked[0] if total % 2 else (picked[0] + picked[1]) / 2
    return max(1, round(median))


def _float(value: Any) -> Optional[float]:
    """Return a float from an SQLite value, or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace("'C", ""))
        except ValueError:
            return None
    return None


_NEW = object.__new__
_SET = object.__setattr__          # what the frozen dataclass's own __init__ calls, without the lookups
_FROM_ISO = dt.datetime.fromisoformat


def _rows(db: sqlite3.Connection, table: str, stamp: str, temp: Optional[str],
          ambient: Optional[str]) -> Tuple[List[LoggerRow], List[dt.datetime]]:
    """Return the rows in rowid order, skipping those whose stamp does not parse, and their stamps.

    A year of 5-minute rows is 105,120 rows, so the loop is written for speed, with the results of the plain
    ``parse_stamp``/``_float``/``LoggerRow(...)`` way:

    - the exact shapes 'YYYY-MM-DD HH:MM' and 'YYYY-MM-DD HH:MM:SS' (or with 'T') go to the C
      ``fromisoformat``: length 16, or 19 with ':' at 16; '-' at 4 and 7; ' ' or 'T' at 10; ':' at 13 leave
      it no other reading than ASCII digits in the other places (no week dates, no offsets), which is what
      ``parse_stamp`` reads as well; any other stamp, and any it rejects, goes to ``parse_stamp``;
    - REAL values are floats already (``float(x) is x``), NULL is None: only other values go to ``_float``;
    - each row is built the way the frozen dataclass's ``__init__`` builds it (``object.__setattr__`` per
      field, in field order) without its per-field global lookups: it equals, hashes, reprs and pickles the
      same.
    """
    cols = ", ".join(_q(c) if c else "NULL" for c in (stamp, temp, ambient))
    rows: List[LoggerRow] = []
    stamps: List[dt.datetime] = []
    add_row, add_stamp = rows.append, stamps.append
    new, put, from_iso, slow_stamp, to_float = _NEW, _SET, _FROM_ISO, parse_stamp, _float
    for rowid, raw, t, a in db.execute(f"SELECT rowid, {cols} FROM {_q(table)} ORDER BY rowid"):
        when: Optional[dt.datetime] = None
        if type(raw) is str:
            n = len(raw)
            if ((n == 16 or (n == 19 and raw[16] == ":")) and raw[4] == "-" and raw[7] == "-" and raw[13] == ":"
                    and (raw[10] == " " or raw[10] == "T")):
                try:
                    when = from_iso(raw)
                except ValueError:
                    when = slow_stamp(raw)
            else:
                when = slow_stamp(raw)
        if when is None:          # parse_stamp reads str only: raw is a str from here on
            continue
        row = new(LoggerRow)
        put(row, "rowid", rowid if type(rowid) is int else int(rowid))
        put(row, "stamp", when)
        put(row, "raw_stamp", raw)
        put(row, "temperature", t if t is None or type(t) is float else to_float(t))
        put(row, "ambient", a if a is None or type(a) is float else to_float(a))
        add_row(row)
        add_stamp(when)
    return rows, stamps


def read_logger(path: str, spec: Optional[LoggerSpec] = None) -> LoggerData:
    """Read the logger DB copy at ``path`` with the host's spec; failures become ``error``, never exceptions."""
    spec = spec or LoggerSpec()
    try:
        db = _connect(path)
    except sqlite3.Error as exc:
        return LoggerData(spec.db_path, spec.table, spec.timestamp_column, spec.interval_minutes, error=str(exc))
    try:
        return _read(db, spec)
    except (sqlite3.Error, ValueError, OverflowError) as exc:
        return LoggerData(spec.db_path, spec.table, spec.timestamp_column, spec.interval_minutes,
                          error=f"{type(exc).__name__}: {exc}")
    finally:
        db.close()


def _read(db: sqlite3.Connection, spec: LoggerSpec) -> LoggerData:
    """Detect what the spec leaves open and read the rows."""
    table, column = spec.table, spec.timestamp_column
    if not (table and column):
        found = detect_stamp(db, table)
        if found is None:
            return LoggerData(spec.db_path, table, column, spec.interval_minutes,
                              error="no table with a 'YYYY-MM-DD HH:MM' timestamp column")
        table, column = table or found[0], column or found[1]
    columns = _columns(db, table)
    if column not in {c for c, _t in columns}:
        return LoggerData(spec.db_path, table, column, spec.interval_minutes,
                          error=f"table {table!r} has no column {column!r}")
    temp = _named(columns, TEMP_WORDS, (column,), AMBIENT_WORDS)
    ambient = _named(columns, AMBIENT_WORDS, (column, temp or ""))
    rows, stamps = _rows(db, table, column, temp, ambient)
    interval = spec.interval_minutes or interval_of(stamps)
    return LoggerData(spec.db_path, table, column, interval, tuple(rows), temp, ambient)
