"""Logger DB reader: detection, interval, columns, errors; the real cron catch-up capture's DBs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence, Tuple

import pytest

from fleetaudit.model import LoggerSpec
from fleetaudit.parse.loggerdb import read_logger

CATCHUP = Path(__file__).parent / "data" / "cron" / "catchup"


def _db(path: Path, ddl: str, rows: Sequence[Tuple[object, ...]]) -> str:
    db = sqlite3.connect(path)
    db.execute(ddl)
    marks = ",".join("?" * len(rows[0])) if rows else ""
    table = ddl.split()[2].split("(")[0]
    db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    db.commit()
    db.close()
    return str(path)


def test_autodetect(tmp_path: Path) -> None:
    rows = [(f"2020-09-01 00:{m:02d}", 40.0 + m / 10, 20.5) for m in range(0, 60, 5)]
    path = _db(tmp_path / "l.db", "CREATE TABLE readings(stamp TEXT, ambient_temp REAL, cpu_temperature REAL)", rows)
    data = read_logger(path)
    assert data.error is None and data.table == "readings" and data.timestamp_column == "stamp"
    assert data.interval_minutes == 5 and len(data.rows) == 12
    assert data.temperature_column == "cpu_temperature" and data.ambient_column == "ambient_temp"


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 500])
def test_bad_files_give_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    assert read_logger(str(path)).error


def test_missing_file_and_wrong_schema(tmp_path: Path) -> None:
    assert read_logger(str(tmp_path / "none.db")).error
    path = _db(tmp_path / "w.db", "CREATE TABLE t(a INTEGER)", [(1,)])
    assert read_logger(path).error
    assert read_logger(path, LoggerSpec(table="t", timestamp_column="nope")).error


@pytest.mark.skipif(not (CATCHUP / "fixed_list.db").exists(), reason="real capture not present")
def test_real_catchup_db() -> None:
    data = read_logger(str(CATCHUP / "fixed_list.db"),
                       LoggerSpec(table="temperatures", timestamp_column="timestamp"))
    assert data.error is None and data.interval_minutes == 5 and data.temperature_column == "temperature"
    stamps = [r.raw_stamp for r in data.rows]
    assert stamps.count("2020-09-01 05:04") == 11 and len(stamps) == 24
    auto = read_logger(str(CATCHUP / "star_step.db"))
    assert auto.table == "temperatures" and auto.timestamp_column == "timestamp"
    assert "2020-09-01 05:04" not in [r.raw_stamp for r in auto.rows]


DRIFT = Path(__file__).parent / "data" / "cron" / "drift_pileup"


@pytest.mark.skipif(not (DRIFT / "logging.db").exists(), reason="real capture not present")
def test_real_pileup_db_autodetected() -> None:
    data = read_logger(str(DRIFT / "logging.db"))
    assert data.error is None and (data.table, data.timestamp_column) == ("temperatures", "timestamp")
    assert data.interval_minutes == 5
    stamps = [r.raw_stamp for r in data.rows]
    assert stamps.count("2020-09-14 04:32") == 6 and "2020-09-14 03:11" in stamps
    assert [r.rowid for r in data.rows] == sorted(r.rowid for r in data.rows)
