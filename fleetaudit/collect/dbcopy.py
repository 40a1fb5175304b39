"""Workstation-side handling of the logger DB copy: integrity check and rebuild from an SQL dump."""

from __future__ import annotations

import os
import sqlite3
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
