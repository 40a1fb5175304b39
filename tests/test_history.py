"""Tests for the SQLite run history: fingerprints, new/ongoing/resolved marking, migrations, corruption."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
from pathlib import Path
from typing import Sequence, Tuple

import pytest

from fleetaudit.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    HostChange,
    fingerprint,
    status_note,
)
from fleetaudit.model import Comparison, Finding, FleetReport, HostReport, HostSnapshot, RunSnapshot, SourceResult

BURST = Finding("rasp3bprs1", "logger.burst", "critical", "Eleven rows stamped 05:04.", "2020-09-01T05:04",
                evidence={"stamp": "2020-09-01 05:04", "count": 11})
BURST2 = dataclasses.replace(BURST, start="2020-09-14T04:39", evidence={"stamp": "2020-09-14 04:39", "count": 9})
LIRC = Finding("rasp3bprs1", "services.unexpected", "warning", "lircd runs.",
               evidence={"service": "lircd", "running": True})
DISK = Finding("rasp3bprs1", "disk.log_partition_full", "critical", "/var/log full.", evidence={"mount": "/var/log"})


def host(name: str, status: str, findings: Sequence[Finding] = ()) -> HostReport:
    """Build a host report with one source."""
    sources = (SourceResult("syslog", "ok", ("files/var/log/syslog",), 1000, 400, "ab", 0.5),)
    return HostReport(name, status, "" if status == "ok" else "no route", ("softether_3bplus",), sources,
                      tuple(findings), ())


def report(run_id: str, hosts: Tuple[HostReport, ...]) -> FleetReport:
    """Build a fleet report."""
    return FleetReport("fleetaudit/1", run_id, "2020-09-15T03:00:00Z", "inventory.yaml", hosts, (),
                       Comparison((), (), {}))


def run_once(history: History, run_id: str, hosts: Tuple[HostReport, ...]) -> FleetReport:
    """Mark then record one run, as the CLI does."""
    marked = history.mark(report(run_id, hosts))
    snap = RunSnapshot(run_id, f"/r/{run_id}", "inventory.yaml",
                       tuple(HostSnapshot(h.name, h.status, h.reason, f"/r/{run_id}/{h.name}", h.sources,
                                          duration_s=2.5) for h in hosts),
                       "2020-09-15T03:00:00Z", "2020-09-15T03:01:00Z", True)
    history.record(marked, snap)
    return marked


def statuses(rep: FleetReport, name: str) -> dict[str, str]:
    """Return check -> status for one host's findings."""
    found = next(h for h in rep.hosts if h.name == name)
    return {f"{f.check}:{f.evidence.get('stamp', '')}": f.status for f in found.findings}


def test_fingerprint_identifies_by_evidence() -> None:
    """Same identifying evidence -> same fingerprint; other evidence values or summary do not matter."""
    assert fingerprint(BURST) == fingerprint(dataclasses.replace(BURST, summary="x", evidence={
        "stamp": "2020-09-01 05:04", "count": 12}))
    assert fingerprint(BURST) != fingerprint(BURST2)
    assert fingerprint(BURST) != fingerprint(dataclasses.replace(BURST, host="rasp3bprs2"))
    auth = Finding("h", "auth.failed_logins", "warning", "s", evidence={"users": ["pi"], "sources": ["1.2.3.4"],
                                                                          "count": 5})
    assert fingerprint(auth) == fingerprint(dataclasses.replace(auth, evidence={**auth.evidence, "count": 50}))
    other = Finding("h", "some.new_check", "info", "s", start="2020-01-01")
    assert fingerprint(other) != fingerprint(dataclasses.replace(other, start="2020-01-02"))
    assert len(fingerprint(other)) == 64


def test_new_ongoing_resolved_across_three_runs(tmp_path: Path) -> None:
    """A finding appears (new), stays (ongoing), disappears (resolved); another appears in run 2."""
    with History(str(tmp_path / "h" / "history.db")) as history:
        first = run_once(history, "20200915T030000Z-0001", (host("rasp3bprs1", "ok", [BURST, LIRC]),))
        assert statuses(first, "rasp3bprs1") == {"logger.burst:2020-09-01 05:04": "new",
                                                 "services.unexpected:": "new"}
        assert first.resolved == ()
        second = run_once(history, "20200916T030000Z-0002", (host("rasp3bprs1", "ok", [BURST, LIRC, BURST2]),))
        assert statuses(second, "rasp3bprs1") == {"logger.burst:2020-09-01 05:04": "ongoing",
                                                  "services.unexpected:": "ongoing",
                                                  "logger.burst:2020-09-14 04:39": "new"}
        third = run_once(history, "20200917T030000Z-0003", (host("rasp3bprs1", "ok", [BURST2]),))
        assert statuses(third, "rasp3bprs1") == {"logger.burst:2020-09-14 04:39": "ongoing"}
        assert sorted(f.check for f in third.resolved) == ["logger.burst", "services.unexpected"]
        assert all(f.status == "resolved" and f.fingerprint for f in third.resolved)
        assert [r.findings for r in history.runs()] == [2, 3, 1]


def test_unreachable_host_findings_are_not_resolved_and_streak_noted(tmp_path: Path) -> None:
    """An unreachable host keeps its findings unresolved; the note counts the runs; recovery is noted."""
    with History(str(tmp_path / "history.db")) as history:
        run_once(history, "r1", (host("rasp3bprs1", "ok", [DISK]), host("rasp3bprs2", "ok")))
        second = run_once(history, "r2", (host("rasp3bprs1", "ok", [DISK]), host("rasp3bprs2", "unreachable")))
        assert [h.status_note for h in second.hosts] == ["", ""]
        third = run_once(history, "r3", (host("rasp3bprs1", "unreachable"), host("rasp3bprs2", "timeout")))
        assert third.resolved == ()
        assert [h.status_note for h in third.hosts] == ["", "timeout since 2 runs"]
        fourth = run_once(history, "r4", (host("rasp3bprs1", "ok", [DISK]), host("rasp3bprs2", "ok")))
        assert [h.status_note for h in fourth.hosts] == ["reachable again (was unreachable)",
                                                         "reachable again (was timeout)"]
        assert statuses(fourth, "rasp3bprs1") == {"disk.log_partition_full:": "ongoing"}


def test_status_note_table() -> None:
    """The note for each streak shape."""
    assert status_note("unreachable", ["unreachable", "auth_failed", "ok", "unreachable"]) == \
        "unreachable since 3 runs"
    assert status_note("unreachable", []) == ""
    assert status_note("ok", ["partial"]) == ""
    assert status_note("partial", ["hostkey_changed"]) == "reachable again (was hostkey_changed)"


def test_diff_between_runs(tmp_path: Path) -> None:
    """diff() lists new and resolved findings and host status changes."""
    with History(str(tmp_path / "history.db")) as history:
        run_once(history, "a", (host("rasp3bprs1", "ok", [BURST, LIRC]), host("rasp3bprs2", "ok")))
        run_once(history, "b", (host("rasp3bprs1", "ok", [LIRC, DISK]), host("rasp3bprs2", "unreachable"),
                                host("rasp4", "ok")))
        change = history.diff("a", "b")
        assert [f.check for f in change.new] == ["disk.log_partition_full"]
        assert [f.check for f in change.resolved] == ["logger.burst"]
        assert change.host_changes == (HostChange("rasp3bprs2", "ok", "unreachable"),
                                       HostChange("rasp4", "absent", "ok"))
        with pytest.raises(HistoryError, match="unknown run 'zzz'"):
            history.diff("a", "zzz")


def test_record_stores_sources_and_timings(tmp_path: Path) -> None:
    """Per-source bytes and timings and per-host duration are stored; re-recording a run replaces it."""
    path = tmp_path / "history.db"
    with History(str(path)) as history:
        run_once(history, "r1", (host("rasp3bprs1", "ok", [BURST]),))
        run_once(history, "r1", (host("rasp3bprs1", "ok", [BURST]),))
        assert len(history.runs()) == 1
    db = sqlite3.connect(path)
    assert db.execute("SELECT host, name, status, bytes, bytes_moved, duration_s FROM sources").fetchall() == [
        ("rasp3bprs1", "syslog", "ok", 1000, 400, 0.5)]
    assert db.execute("SELECT duration_s FROM hosts").fetchall() == [(2.5,)]
    assert db.execute("SELECT count(*) FROM findings").fetchone() == (1,)
    db.close()


def test_permissions(tmp_path: Path) -> None:
    """The DB file is 0600 and a directory it creates is 0700."""
    path = tmp_path / "state" / "history.db"
    with History(str(path)):
        pass
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


V1 = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL,
                   complete INTEGER NOT NULL, inventory TEXT NOT NULL DEFAULT '');
CREATE TABLE hosts (run_id TEXT NOT NULL, host TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (run_id, host));
CREATE TABLE findings (run_id TEXT NOT NULL, host TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL,
                       summary TEXT NOT NULL, fingerprint TEXT NOT NULL, start TEXT);
INSERT INTO runs VALUES ('old', '2020-09-14T03:00Z', '2020-09-14T03:01Z', 1, 'inventory.yaml');
INSERT INTO hosts VALUES ('old', 'rasp3bprs1', 'ok', '');
PRAGMA user_version = 1;
"""


def test_v1_database_is_migrated(tmp_path: Path) -> None:
    """A history written by schema v1 opens, is upgraded, and its old runs still count for marking."""
    path = tmp_path / "history.db"
    db = sqlite3.connect(path)
    db.executescript(V1)
    db.execute("INSERT INTO findings VALUES ('old', 'rasp3bprs1', 'logger.burst', 'critical', 's', ?, NULL)",
               (fingerprint(BURST),))
    db.commit()
    db.close()
    with History(str(path)) as history:
        assert history.notice == ""
        assert history.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert [r.run_id for r in history.runs()] == ["old"]
        marked = run_once(history, "new", (host("rasp3bprs1", "ok", [BURST]),))
        assert statuses(marked, "rasp3bprs1") == {"logger.burst:2020-09-01 05:04": "ongoing"}
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_corrupt_database_is_set_aside(tmp_path: Path) -> None:
    """Garbage bytes: the file is renamed history.db.corrupt-<time>, a notice says so, a new history works."""
    path = tmp_path / "history.db"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with History(str(path)) as history:
        assert "moved to" in history.notice and "starting a new history" in history.notice
        run_once(history, "r1", (host("rasp3bprs1", "ok", [BURST]),))
        assert [r.run_id for r in history.runs()] == ["r1"]
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("history.db.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A history from a newer fleetaudit is not touched."""
    path = tmp_path / "history.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(HistoryError, match="newer"):
        History(str(path)).open()
    assert path.exists()
