"""Workstation-side handling of the logger DB copy: integrity check and rebuild from an SQL dump."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from typing import Any, Dict, List
from urllib.parse import quote

from fleetaudit.snapshot import HostWriter


def check_db(path: str) -> str:
    """Return "" when the stored DB passes ``PRAGMA quick_check``, else a one-line reason."""
    try:
        con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"the copied logger DB does not open: {exc}"
    verdict = "; ".join(str(r[0]) for r in rows)
    return "" if verdict == "ok" else f"the logger DB is corrupt on the host: {verdict[:300]}"


def rebuild_db(writer: HostWriter, rel: str, sql: bytes) -> str:
    """Build ``rel`` from SQL text (the host's ``.dump``); return "" or a one-line reason."""
    placeholder = writer.create(rel)          # makes the directory; the DB itself is built beside it
    placeholder.discard()
    final = writer.path(rel)
    building = final + ".build"
    try:
        con = sqlite3.connect(building)
        try:
            con.executescript(sql.decode("utf-8", "replace"))
            con.commit()
        finally:
            con.close()
    except sqlite3.Error as exc:
        if os.path.exists(building):
            os.unlink(building)
        return f"the logger DB dump could not be rebuilt: {exc}"
    os.replace(building, final)
    os.chmod(final, 0o600)
    return ""


def _row_value(value: Any) -> Any:
    """Decode one JSON-encoded column value (blobs arrive as ``{"x": hex}``)."""
    if isinstance(value, dict) and isinstance(value.get("x"), str):
        return bytes.fromhex(value["x"])
    return value


def _insert_rows(con: sqlite3.Connection, lines: List[bytes]) -> None:
    """Insert the JSON-line rows (after the first line: the columns of each table) in one transaction."""
    columns: Dict[str, List[str]] = json.loads(lines[0]) if lines and lines[0].strip() else {}
    statements = {table: 'INSERT INTO "{}" ({}) VALUES ({})'.format(
        table.replace('"', '""'), ", ".join('"' + c.replace('"', '""') + '"' for c in cols),
        ", ".join("?" * len(cols))) for table, cols in columns.items()}
    with con:
        for line in lines[1:]:
            table, values = json.loads(line)
            con.execute(statements[table], [_row_value(v) for v in values])


def apply_rows(writer: HostWriter, rel: str, previous_db: str, rows: bytes) -> str:
    """Build ``rel`` as the previous run's DB plus the new rows the host sent; return "" or a one-line reason."""
    placeholder = writer.create(rel)
    placeholder.discard()
    final = writer.path(rel)
    building = final + ".build"
    try:
        shutil.copyfile(previous_db, building)
        con = sqlite3.connect(building)
        try:
            _insert_rows(con, rows.split(b"\n"))
        finally:
            con.close()
    except (OSError, sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        if os.path.exists(building):
            os.unlink(building)
        return f"the new logger DB rows could not be applied: {type(exc).__name__}: {exc}"
    os.replace(building, final)
    os.chmod(final, 0o600)
    return check_db(final)
