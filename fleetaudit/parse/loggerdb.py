"""The periodic logger's SQLite DB into ``LoggerData``: table, stamp column and interval given or detected.

Auto-detection: the first table with a text column whose sampled values parse as ``YYYY-MM-DD HH:MM[:SS]``;
the interval is the median difference between consecutive distinct stamps, rounded to minutes. The
temperature column is a numeric column named like temp/temperature/soc/cpu, the ambient column one named
like ambient/room/outside. A corrupt, locked, non-SQLite file or a wrong schema sets ``error``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import urllib.parse
from typing import Any, Iterator, List, Optional, Sequence, Tuple

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
    distinct = sorted(set(stamps))
    steps = [(b - a).total_seconds() / 60 for a, b in zip(distinct, distinct[1:])]
    if not steps:
        return None
    return max(1, round(statistics.median(steps)))


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


def _rows(db: sqlite3.Connection, table: str, stamp: str, temp: Optional[str],
          ambient: Optional[str]) -> Iterator[LoggerRow]:
    """Yield the rows in rowid order, skipping those whose stamp does not parse."""
    cols = ", ".join(_q(c) if c else "NULL" for c in (stamp, temp, ambient))
    for rowid, raw, t, a in db.execute(f"SELECT rowid, {cols} FROM {_q(table)} ORDER BY rowid"):
        when = parse_stamp(raw)
        if when is not None:
            yield LoggerRow(int(rowid), when, str(raw), _float(t), _float(a))


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
    rows = tuple(_rows(db, table, column, temp, ambient))
    interval = spec.interval_minutes or interval_of([r.stamp for r in rows])
    return LoggerData(spec.db_path, table, column, interval, rows, temp, ambient)
