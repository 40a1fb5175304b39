"""SQLite history of past runs: what is new since last night, what is resolved, which hosts changed status.

``History(path)`` is a context manager. The file is created 0600 (its directory 0700 when created); the
schema is versioned with ``PRAGMA user_version`` and upgraded by ``MIGRATIONS``; a corrupt file is moved aside
to ``<path>.corrupt-<UTC time>`` and a fresh history is started (``History.notice`` says so).
Typical use: ``report = h.mark(report); h.record(report, run)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from types import TracebackType
from typing import AbstractSet, Dict, List, Optional, Sequence, Tuple, Type

from fleetaudit.model import Finding, FleetReport, HostReport, RunSnapshot

LOG = logging.getLogger(__name__)
AUDITED = ("ok", "partial")

MIGRATIONS: Tuple[str, ...] = (
    # v1: runs, host statuses, findings
    """
    CREATE TABLE runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL,
                       complete INTEGER NOT NULL, inventory TEXT NOT NULL DEFAULT '');
    CREATE TABLE hosts (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, host TEXT NOT NULL,
                        status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, host));
    CREATE TABLE findings (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, host TEXT NOT NULL,
                           check_id TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL,
                           fingerprint TEXT NOT NULL, start TEXT);
    CREATE INDEX findings_run ON findings(run_id);
    """,
    # v2: per-source bytes and timings, host timings, finding evidence and end
    """
    CREATE TABLE sources (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, host TEXT NOT NULL,
                          name TEXT NOT NULL, status TEXT NOT NULL, bytes INTEGER NOT NULL,
                          bytes_moved INTEGER NOT NULL, duration_s REAL NOT NULL, truncated INTEGER NOT NULL);
    ALTER TABLE hosts ADD COLUMN duration_s REAL NOT NULL DEFAULT 0;
    ALTER TABLE findings ADD COLUMN finding_end TEXT;
    ALTER TABLE findings ADD COLUMN evidence TEXT NOT NULL DEFAULT '{}';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Evidence keys that identify a finding across runs, per check id (prefix "auth." covers all auth checks).
IDENTITY_KEYS: Dict[str, Tuple[str, ...]] = {
    "logger.burst": ("stamp",), "logger.late_drift": ("start",), "logger.gap": ("start",),
    "logger.daily_count": ("day",), "services.unexpected": ("service",),
    "packages.recent_install": ("package", "action", "at"), "vpn.unclean_restart": ("started_at",),
    "vpn.admin_login_failed": ("users", "sources"), "vpn.user_auth_failed": ("users", "sources"),
    "disk.log_partition_full": ("mount",), "logs.noisy_program": ("program",),
    "logs.discontinuity": ("file", "kind", "from"), "logs.lost_window": ("window_start",),
    "clock.jump": ("at",), "source.unavailable": ("source",), "thermal.spike": ("start",),
    "auth.accepted_login": ("user", "source"), "auth.": ("users", "sources"),
}


class HistoryError(Exception):
    """The history cannot be used (e.g. written by a newer fleetaudit, or an unknown run id)."""


@dataclass(frozen=True)
class RunInfo:
    """One recorded run, as listed by ``History.runs()``."""

    run_id: str
    started: str
    finished: str
    complete: bool
    hosts: int
    hosts_audited: int
    findings: int


@dataclass(frozen=True)
class HostChange:
    """A host whose status differs between two runs ("absent" when it was not in a run)."""

    host: str
    before: str
    after: str


@dataclass(frozen=True)
class RunDiff:
    """What changed from ``run_a`` to ``run_b``."""

    run_a: str
    run_b: str
    new: Tuple[Finding, ...]
    resolved: Tuple[Finding, ...]
    host_changes: Tuple[HostChange, ...]


def _identity_keys(check: str) -> Tuple[str, ...]:
    """Return the evidence keys identifying findings of one check ('' entries mean "use start")."""
    if check in IDENTITY_KEYS:
        return IDENTITY_KEYS[check]
    prefix = check.split(".", 1)[0] + "."
    return IDENTITY_KEYS.get(prefix, ())


def fingerprint(f: Finding) -> str:
    """Return the stable id of a finding: sha256 of check, host and the evidence values that identify it."""
    keys = [k for k in _identity_keys(f.check) if k in f.evidence]
    values = [json.dumps(f.evidence[k], sort_keys=True, default=str) for k in keys] or [str(f.start or "")]
    return hashlib.sha256("\x00".join([f.check, f.host, *values]).encode()).hexdigest()


def _utc_stamp() -> str:
    """Return the current UTC time as 20261203T030000Z."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _create_private(path: str) -> None:
    """Create the DB file 0600 (and its directory 0700 when it does not exist)."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class History:
    """The run history in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.notice = ""                  # non-empty when a corrupt DB was moved aside
        self._db: Optional[sqlite3.Connection] = None

    def __enter__(self) -> History:
        self.open()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        """Return the open connection."""
        if self._db is None:
            raise HistoryError("history is not open")
        return self._db

    def open(self) -> None:
        """Open (creating, upgrading or replacing a corrupt file as needed)."""
        _create_private(self.path)
        try:
            self._db = self._connect_and_migrate()
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
            _create_private(self.path)
            self._db = self._connect_and_migrate()

    def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connect_and_migrate(self) -> sqlite3.Connection:
        """Connect, check the file is a database, and apply pending migrations."""
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            check = db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{self.path}: history schema v{version} is newer than this fleetaudit "
                                   f"(v{SCHEMA_VERSION})")
            for index in range(version, SCHEMA_VERSION):
                db.executescript(f"BEGIN;{MIGRATIONS[index]};PRAGMA user_version = {index + 1};COMMIT;")
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, exc: Exception) -> None:
        """Move a corrupt history file aside and say so in ``notice``."""
        target = f"{self.path}.corrupt-{_utc_stamp()}"
        os.replace(self.path, target)
        for suffix in ("-journal", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.replace(self.path + suffix, target + suffix)
        self.notice = f"history DB {self.path} was unreadable ({exc}); moved to {target}, starting a new history"
        LOG.warning("%s", self.notice)

    # ---- writing -------------------------------------------------------------------------------------------

    def record(self, report: FleetReport, run: Optional[RunSnapshot] = None) -> None:
        """Record one run: hosts with status, per-source bytes and timings, findings with fingerprints."""
        started = run.started if run else report.generated_at
        finished = run.finished if run else report.generated_at
        complete = run.complete if run else True
        with _Transaction(self.db) as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (report.run_id,))
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
                       (report.run_id, started, finished, int(complete), report.inventory_path))
            durations = {h.host: h.duration_s for h in run.hosts} if run else {}
            for host in report.hosts:
                self._record_host(db, report.run_id, host, durations.get(host.name, 0.0))

    def _record_host(self, db: sqlite3.Connection, run_id: str, host: HostReport, duration: float) -> None:
        """Insert one host's status, sources and findings."""
        db.execute("INSERT INTO hosts (run_id, host, status, reason, duration_s) VALUES (?, ?, ?, ?, ?)",
                   (run_id, host.name, host.status, host.reason, duration))
        db.executemany("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (run_id, host.name, s.name, s.status, s.bytes, s.bytes_moved, s.duration_s, int(s.truncated))
            for s in host.sources])
        db.executemany(
            "INSERT INTO findings (run_id, host, check_id, severity, summary, fingerprint, start, finding_end,"
            " evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, f.host, f.check, f.severity, f.summary, f.fingerprint or fingerprint(f), f.start, f.end,
              json.dumps(dict(f.evidence), sort_keys=True, default=str)) for f in host.findings])

    # ---- reading -------------------------------------------------------------------------------------------

    def runs(self) -> Tuple[RunInfo, ...]:
        """List recorded runs, oldest first."""
        rows = self.db.execute(
            "SELECT r.run_id, r.started, r.finished, r.complete,"
            " (SELECT count(*) FROM hosts h WHERE h.run_id = r.run_id),"
            " (SELECT count(*) FROM hosts h WHERE h.run_id = r.run_id AND h.status IN ('ok', 'partial')),"
            " (SELECT count(*) FROM findings f WHERE f.run_id = r.run_id)"
            " FROM runs r ORDER BY r.rowid").fetchall()
        return tuple(RunInfo(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6]) for r in rows)

    def _last_audited(self, host: str, run_id: str) -> Optional[str]:
        """Return the newest complete run (other than ``run_id``) in which ``host`` was audited (ok/partial)."""
        row = self.db.execute(
            "SELECT r.run_id FROM runs r JOIN hosts h ON h.run_id = r.run_id WHERE r.complete = 1"
            " AND r.run_id != ? AND h.host = ? AND h.status IN ('ok', 'partial') ORDER BY r.rowid DESC LIMIT 1",
            (run_id, host)).fetchone()
        return str(row[0]) if row else None

    def findings(self, run_id: str, host: Optional[str] = None) -> Tuple[Finding, ...]:
        """Return the findings recorded for a run (only one host's when ``host`` is given)."""
        rows = self.db.execute("SELECT host, check_id, severity, summary, start, finding_end, evidence,"
                               " fingerprint FROM findings WHERE run_id = ? AND (? IS NULL OR host = ?)"
                               " ORDER BY rowid", (run_id, host, host)).fetchall()
        return tuple(Finding(host=r[0], check=r[1], severity=r[2], summary=r[3], start=r[4], end=r[5],
                             evidence=json.loads(r[6] or "{}"), status="ongoing", fingerprint=r[7]) for r in rows)

    def host_statuses(self, run_id: str) -> Dict[str, str]:
        """Return host -> status for a run."""
        rows = self.db.execute("SELECT host, status FROM hosts WHERE run_id = ?", (run_id,)).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _status_streak(self, host: str, run_id: str) -> List[str]:
        """Return the host's statuses in complete runs other than ``run_id``, newest first."""
        rows = self.db.execute(
            "SELECT h.status FROM hosts h JOIN runs r ON r.run_id = h.run_id WHERE h.host = ? AND r.complete = 1"
            " AND r.run_id != ? ORDER BY r.rowid DESC", (host, run_id)).fetchall()
        return [str(r[0]) for r in rows]

    # ---- marking and diffing -------------------------------------------------------------------------------

    def mark(self, report: FleetReport) -> FleetReport:
        """Return a copy of ``report`` with findings marked new/ongoing, ``resolved`` filled, status notes set.

        Each host is compared with the newest complete run in which it was audited, so a night it was
        unreachable does not turn its findings "new" again; an unaudited host resolves nothing.
        """
        hosts: List[HostReport] = []
        resolved: List[Finding] = []
        for host in report.hosts:
            last = self._last_audited(host.name, report.run_id)
            before = self.findings(last, host.name) if last else ()
            marked = self._mark_host(host, {f.fingerprint for f in before}, report.run_id)
            hosts.append(marked)
            if host.status in AUDITED:
                now = {f.fingerprint for f in marked.findings}
                resolved.extend(dataclasses.replace(f, status="resolved") for f in before if f.fingerprint not in now)
        return dataclasses.replace(report, hosts=tuple(hosts), resolved=tuple(resolved))

    def _mark_host(self, host: HostReport, seen: AbstractSet[str], run_id: str) -> HostReport:
        """Mark one host's findings and write its status note."""
        findings = []
        for f in host.findings:
            fp = f.fingerprint or fingerprint(f)
            findings.append(dataclasses.replace(f, fingerprint=fp, status="ongoing" if fp in seen else "new"))
        note = status_note(host.status, self._status_streak(host.name, run_id))
        return dataclasses.replace(host, findings=tuple(findings), status_note=note or host.status_note)

    def diff(self, run_a: str, run_b: str) -> RunDiff:
        """Return what changed from ``run_a`` to ``run_b``: new and resolved findings, host status changes."""
        known = {r.run_id for r in self.runs()}
        for run in (run_a, run_b):
            if run not in known:
                raise HistoryError(f"unknown run '{run}' (see `fleetaudit history`)")
        a, b = self.findings(run_a), self.findings(run_b)
        a_fp, b_fp = {f.fingerprint for f in a}, {f.fingerprint for f in b}
        sa, sb = self.host_statuses(run_a), self.host_statuses(run_b)
        changes = tuple(HostChange(h, sa.get(h, "absent"), sb.get(h, "absent")) for h in sorted(set(sa) | set(sb))
                        if sa.get(h, "absent") != sb.get(h, "absent"))
        return RunDiff(run_a, run_b,
                       new=tuple(dataclasses.replace(f, status="new") for f in b if f.fingerprint not in a_fp),
                       resolved=tuple(dataclasses.replace(f, status="resolved") for f in a
                                      if f.fingerprint not in b_fp),
                       host_changes=changes)


def status_note(status: str, earlier: Sequence[str]) -> str:
    """Describe a host's status against its earlier statuses (newest first): "unreachable since 2 runs"."""
    if status not in AUDITED:
        streak = 1
        for old in earlier:
            if old in AUDITED:
                break
            streak += 1
        return f"{status} since {streak} runs" if streak > 1 else ""
    if earlier and earlier[0] not in AUDITED:
        return f"reachable again (was {earlier[0]})"
    return ""


class _Transaction:
    """Context manager running its block in one IMMEDIATE transaction (rolled back on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
