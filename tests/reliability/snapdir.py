"""Build host snapshot directories by hand (layout in fleetaudit/collect/sources.py) and analyse them."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from fleetaudit.checks import INTERNAL_ERROR_CHECK, CheckContext, run_checks
from fleetaudit.facts import HostFacts
from fleetaudit.model import Finding, Host, HostSnapshot, LoggerSpec, RunSnapshot, SourceResult
from fleetaudit.parse import build_facts

DATA = Path(__file__).resolve().parent.parent / "data"
GOOD_SYSLOG = DATA / "cron" / "catchup" / "syslog"
GOOD_DB = DATA / "cron" / "catchup" / "fixed_list.db"
DF = ("Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
      "/dev/mmcblk0p2   30000000 2000000  28000000       7% /\n")
HOST = Host(name="pi", logger=LoggerSpec(table="temperatures", timestamp_column="timestamp", interval_minutes=5))


def host_dir(root: Path, name: str = "pi", files: Optional[Dict[str, bytes]] = None,
             cmds: Optional[Dict[str, str]] = None, db: Optional[bytes] = None) -> Path:
    """Create reports/<run>/<name>/ with files/<remote path>, cmd/<name>.txt and logger/logger.db."""
    base = root / name
    for remote, data in (files or {}).items():
        path = base / "files" / remote.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    commands = {"hostname": name + "\n", "df": DF}
    commands.update(cmds or {})
    (base / "cmd").mkdir(parents=True, exist_ok=True)
    for cmd, text in commands.items():
        (base / "cmd" / f"{cmd}.txt").write_text(text, encoding="utf-8")
    if db is not None:
        (base / "logger").mkdir(parents=True, exist_ok=True)
        (base / "logger" / "logger.db").write_bytes(db)
    return base


def snapshot_of(directory: Path, status: str = "ok", sources: Sequence[SourceResult] = ()) -> HostSnapshot:
    """Return the HostSnapshot of a hand-built host directory."""
    return HostSnapshot(host=directory.name, status=status, reason="", directory=str(directory),
                        sources=tuple(sources), started="2020-09-15T00:00:00+00:00",
                        finished="2020-09-15T00:01:00+00:00")


def analyse(snap: HostSnapshot, host: Host = HOST) -> Tuple[HostFacts, Tuple[Finding, ...]]:
    """Run the real parsers and checks; assert no check crashed (a check.error finding is a traceback)."""
    facts = build_facts(snap, host)
    findings = run_checks(facts, CheckContext(host=host))
    crashed = [f.summary for f in findings if f.check == INTERNAL_ERROR_CHECK]
    assert not crashed, crashed
    return facts, findings


def run_of(root: Path, snaps: Sequence[HostSnapshot]) -> RunSnapshot:
    """Return a RunSnapshot over hand-built host snapshots (for pipeline.analyze)."""
    return RunSnapshot(run_id=root.name, directory=str(root), inventory_path="", hosts=tuple(snaps),
                       started="2020-09-15T00:00:00+00:00", finished="2020-09-15T00:01:00+00:00", complete=True)


def good_db_bytes() -> bytes:
    """Return the bytes of a real logger DB captured from cron (tests/data/cron/catchup)."""
    return GOOD_DB.read_bytes()


def make_db(path: Path, schema: str, rows: Sequence[Tuple[object, ...]] = ()) -> bytes:
    """Create an SQLite DB with ``schema`` and ``rows`` in its first table; return its bytes."""
    db = sqlite3.connect(path)
    db.executescript(schema)
    table = str(db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchone()[0])
    for row in rows:
        db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in row)})", row)
    db.commit()
    db.close()
    return path.read_bytes()


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a directory tree (symlinks kept as links)."""
    shutil.copytree(src, dest, symlinks=True)
