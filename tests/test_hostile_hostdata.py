"""Hostile and broken host data through the real parsers, build_facts and checks: findings, never tracebacks.

Each case builds a host snapshot directory by hand (layout in fleetaudit/collect/sources.py) and runs
``build_facts`` + ``run_checks`` (a ``check.error`` finding counts as a crash), then the whole pipeline and
the three renderers over the same run.
"""

from __future__ import annotations

import gzip
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest
from reliability.snapdir import (
    GOOD_SYSLOG,
    HOST,
    analyse,
    good_db_bytes,
    host_dir,
    make_db,
    run_of,
    snapshot_of,
)

from fleetaudit.facts import HostFacts
from fleetaudit.model import Finding, Inventory, SourceResult
from fleetaudit.pipeline import analyze
from fleetaudit.report.html import render_html
from fleetaudit.report.jsonout import render_json
from fleetaudit.report.table import render_table

SYSLOG = GOOD_SYSLOG.read_bytes()


def _checks(findings: tuple[Finding, ...], prefix: str = "") -> List[str]:
    return [f.check for f in findings if f.check.startswith(prefix)]


def _logger_unavailable(findings: tuple[Finding, ...]) -> List[Finding]:
    return [f for f in findings if f.check == "source.unavailable" and f.evidence.get("source") == "logger_db"]


# ---- the logger DB -------------------------------------------------------------------------------------------

def _corrupt(tmp: Path) -> bytes:
    good = good_db_bytes()
    return good[:2048] + b"\xde\xad" * 1024 + good[4096:]


def _no_table(tmp: Path) -> bytes:
    return make_db(tmp / "x.db", "CREATE TABLE readings(ts TEXT, value REAL);", [("2020-09-01 00:00", 40.0)])


def _no_column(tmp: Path) -> bytes:
    return make_db(tmp / "x.db", "CREATE TABLE temperatures(ts TEXT, temperature REAL);",
                   [("2020-09-01 00:00", 40.0)])


def _wrong_types(tmp: Path) -> bytes:
    rows = [("2020-09-01 00:00", 40.0), (1598918400, "hot"), (None, None), (b"\xff\x00", 1e308 * 10),
            ("2020-13-45 99:99", "47'C")]
    return make_db(tmp / "x.db", "CREATE TABLE temperatures(timestamp TEXT, temperature REAL);", rows)


BAD_DBS: Dict[str, Callable[[Path], bytes]] = {
    "corrupt": _corrupt,
    "truncated": lambda tmp: good_db_bytes()[: len(good_db_bytes()) // 2],
    "header-only": lambda tmp: good_db_bytes()[:100],
    "not-sqlite-text": lambda tmp: b"timestamp,temperature\n2020-09-01 05:04,61.2\n",
    "not-sqlite-gzip": lambda tmp: gzip.compress(good_db_bytes()),
    "empty-file": lambda tmp: b"",
    "wrong-schema-no-table": _no_table,
    "wrong-schema-no-column": _no_column,
}


@pytest.mark.parametrize("kind", sorted(BAD_DBS))
def test_bad_logger_db_is_a_finding(tmp_path: Path, kind: str) -> None:
    """A corrupt, truncated, non-SQLite or wrong-schema DB sets logger.error and gives source.unavailable."""
    directory = host_dir(tmp_path / "run", db=BAD_DBS[kind](tmp_path), files={"/var/log/syslog": SYSLOG})
    facts, findings = analyse(snapshot_of(directory))
    assert facts.logger is not None and facts.logger.error, kind
    assert facts.logger.rows == ()
    assert _logger_unavailable(findings), _checks(findings)
    assert facts.cron_runs, "the other sources are still read"


def test_wrong_value_types_are_skipped_not_fatal(tmp_path: Path) -> None:
    """Rows whose stamp or temperature has the wrong type are skipped or left without a value."""
    directory = host_dir(tmp_path / "run", db=_wrong_types(tmp_path))
    facts, _findings = analyse(snapshot_of(directory))
    assert facts.logger is not None
    assert all(r.stamp.year == 2020 for r in facts.logger.rows)


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Path]:
    """Yield a host dir whose logger.db another connection holds under an EXCLUSIVE lock mid-write."""
    directory = host_dir(tmp_path / "run", db=good_db_bytes(), files={"/var/log/syslog": SYSLOG})
    holder = sqlite3.connect(directory / "logger" / "logger.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO temperatures VALUES ('2020-09-02 00:00', 99.0)")
    try:
        yield directory
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_locked_logger_db_is_read_or_reported(locked_db: Path) -> None:
    """A DB locked by a writer is read as committed (immutable copy) or reported; never a traceback or a hang."""
    facts, findings = analyse(snapshot_of(locked_db))
    assert facts.logger is not None
    assert facts.logger.rows or (facts.logger.error and _logger_unavailable(findings))
    assert all(r.temperature != 99.0 for r in facts.logger.rows), "uncommitted row must not be seen"


# ---- logs ----------------------------------------------------------------------------------------------------

def _lines(*texts: str) -> bytes:
    return "".join(t + "\n" for t in texts).encode()


def _cron(stamp: str, pid: int) -> str:
    return f"{stamp} raspberrypi CRON[{pid}]: (pi) CMD (/usr/local/bin/logtemp.sh)"


def test_invalid_utf8_is_counted(tmp_path: Path) -> None:
    """Invalid UTF-8 bytes are replaced and counted; the line's cron run is still seen."""
    data = SYSLOG + b"Sep  1 09:00:01 raspberrypi CRON[9]: (pi) CMD (/usr/local/bin/\xff\xfe\xc3(logtemp.sh)\n"
    facts, _ = analyse(snapshot_of(host_dir(tmp_path / "run", files={"/var/log/syslog": data})))
    stats = {s.source: s for s in facts.read_stats}
    assert stats["syslog"].undecodable_lines == 1
    assert any("\ufffd" in r.command for r in facts.cron_runs)


def test_nul_block_after_power_loss_is_counted(tmp_path: Path) -> None:
    """A block of NULs (what ext4 leaves after a power cut mid-write) is counted, the lines after it read."""
    after = _lines(_cron("Sep  1 09:05:01", 77))
    data = SYSLOG + b"\x00" * 300_000 + b"\n" + after
    facts, _ = analyse(snapshot_of(host_dir(tmp_path / "run", files={"/var/log/syslog": data})))
    stats = {s.source: s for s in facts.read_stats}
    assert stats["syslog"].nul_lines >= 1
    assert any(r.pid == 77 for r in facts.cron_runs)


def test_ten_megabyte_line_is_clipped(tmp_path: Path) -> None:
    """A 10 MB line counts as one oversized line; parsing goes on after it."""
    huge = b"Sep  1 09:00:00 raspberrypi lircd[480]: " + b"A" * (10 * 1024 * 1024) + b"\n"
    data = SYSLOG + huge + _lines(_cron("Sep  1 09:05:01", 78))
    facts, _ = analyse(snapshot_of(host_dir(tmp_path / "run", files={"/var/log/syslog": data})))
    stats = {s.source: s for s in facts.read_stats}
    assert stats["syslog"].oversized_lines == 1
    assert any(r.pid == 78 for r in facts.cron_runs)
    assert all(len(v.sample) <= 1000 for v in facts.volumes)


def test_time_going_backwards_is_a_finding(tmp_path: Path) -> None:
    """A clock stepped back two hours mid-file is recorded in coverage and reported."""
    data = _lines(_cron("Sep  1 10:00:01", 1), _cron("Sep  1 10:05:01", 2), _cron("Sep  1 08:05:01", 3),
                  _cron("Sep  1 08:10:01", 4))
    facts, findings = analyse(snapshot_of(host_dir(tmp_path / "run", files={"/var/log/syslog": data})))
    assert any(c.backwards for c in facts.coverage)
    assert set(_checks(findings)) & {"logs.discontinuity", "clock.jump"}


def test_year_rollover_keeps_order(tmp_path: Path) -> None:
    """Dec 31 -> Jan 1 in a traditional (yearless) syslog: the January lines land in the next year."""
    data = _lines(_cron("Dec 31 23:50:01", 1), _cron("Dec 31 23:55:01", 2), _cron("Jan  1 00:00:01", 3),
                  _cron("Jan  1 00:05:01", 4))
    directory = host_dir(tmp_path / "run", files={"/var/log/syslog": data},
                         cmds={"clock": "2021-01-01T00:07:00+0000\n"})
    facts, findings = analyse(snapshot_of(directory))
    years = [r.at.year for r in sorted(facts.cron_runs, key=lambda r: r.pid or 0)]
    assert years == [2020, 2020, 2021, 2021]
    assert not any(c.backwards for c in facts.coverage)
    assert "logs.discontinuity" not in _checks(findings)


def test_year_rollover_across_rotation(tmp_path: Path) -> None:
    """syslog.1 ends in December, syslog starts in January: one continuous coverage, no backwards step."""
    files = {"/var/log/syslog.1": _lines(_cron("Dec 31 23:55:01", 1)),
             "/var/log/syslog": _lines(_cron("Jan  1 00:00:01", 2))}
    directory = host_dir(tmp_path / "run", files=files, cmds={"clock": "2021-01-01T00:07:00+0000\n"})
    facts, _ = analyse(snapshot_of(directory))
    assert [r.at.year for r in sorted(facts.cron_runs, key=lambda r: r.pid or 0)] == [2020, 2021]
    assert not any(c.backwards for c in facts.coverage)


def test_dst_change_with_offsets_is_not_a_jump(tmp_path: Path) -> None:
    """RFC 3339 stamps across the autumn DST change (+02:00 -> +01:00) are monotonic: no backwards step."""
    data = _lines(_cron("2020-10-25T02:55:01.000000+02:00", 1), _cron("2020-10-25T02:00:01.000000+01:00", 2),
                  _cron("2020-10-25T02:05:01.000000+01:00", 3))
    facts, findings = analyse(snapshot_of(host_dir(tmp_path / "run", files={"/var/log/syslog": data})))
    assert len(facts.cron_runs) == 3
    assert not any(c.backwards for c in facts.coverage)
    assert not [f for f in findings if f.check == "clock.jump"]


def test_dst_change_in_local_stamps_never_crashes(tmp_path: Path) -> None:
    """Traditional (offset-less) stamps repeat 02:00-03:00 at the autumn change: read, never a traceback.

    Without an offset the repeated hour is indistinguishable from a clock step back; whatever the parser
    makes of it must be a value (coverage/finding), and every line must still be counted.
    """
    data = _lines(_cron("Oct 25 02:55:01", 1), _cron("Oct 25 02:00:01", 2), _cron("Oct 25 02:05:01", 3))
    directory = host_dir(tmp_path / "run", files={"/var/log/syslog": data},
                         cmds={"clock": "2020-10-25T03:00:00+0100\n"})
    facts, _ = analyse(snapshot_of(directory))
    assert len(facts.cron_runs) == 3


def test_truncated_gzip_rotation_is_counted(tmp_path: Path) -> None:
    """A rotated syslog.2.gz cut in half keeps what was readable and says so."""
    packed = gzip.compress(SYSLOG)
    files = {"/var/log/syslog.2.gz": packed[: len(packed) // 2], "/var/log/syslog": _lines(_cron("Sep  2 00:00:01", 5))}
    facts, _ = analyse(snapshot_of(host_dir(tmp_path / "run", files=files)))
    stats = {s.source: s for s in facts.read_stats}
    assert stats["syslog"].truncated_gzip == ("files/var/log/syslog.2.gz",)
    assert any(r.pid == 5 for r in facts.cron_runs)


def test_binary_garbage_in_every_source(tmp_path: Path) -> None:
    """Random bytes in every file source and command output: facts are built, nothing crashes."""
    junk = bytes(range(256)) * 64 + b"\n\x1b[2J\x00" * 50
    remote = ["/etc/os-release", "/proc/device-tree/model", "/proc/uptime", "/sys/class/thermal/thermal_zone0/temp",
              "/var/log/syslog", "/var/log/auth.log", "/var/lib/dpkg/status", "/var/log/apt/history.log",
              "/var/log/dpkg.log", "/etc/crontab", "/etc/cron.d/x", "/lib/systemd/system/x.timer",
              "/usr/local/vpnserver/server_log/vpn_20200901.log",
              "/usr/local/vpnserver/security_log/DEFAULT/sec_20200901.log"]
    cmds = {n: junk.decode("latin-1") for n in ("hostname", "kernel", "clock", "df", "df_inodes", "log_files",
                                                 "processes", "unit_links", "unit_owners", "systemctl_units",
                                                 "systemctl_timers", "journal")}
    directory = host_dir(tmp_path / "run", files={r: junk for r in remote}, cmds=cmds, db=junk)
    facts, findings = analyse(snapshot_of(directory))
    assert isinstance(facts, HostFacts)
    assert _logger_unavailable(findings)


def test_unreadable_snapshot_file_is_an_error_line(tmp_path: Path) -> None:
    """A snapshot file that is a directory (or unreadable) where a log should be becomes a read error."""
    directory = host_dir(tmp_path / "run", files={"/var/log/syslog.1": SYSLOG})
    (directory / "files" / "var" / "log" / "syslog").mkdir()
    sources = (SourceResult("syslog", "ok", files=("files/var/log/syslog.1", "files/var/log/syslog")),)
    facts, _ = analyse(snapshot_of(directory, sources=sources))
    assert facts.cron_runs


def test_source_statuses_become_findings(tmp_path: Path) -> None:
    """Every non-ok source status in a manifest is a source.unavailable finding naming the source."""
    statuses = {"syslog": "timeout", "auth": "denied", "dpkg_status": "error", "df": "missing"}
    sources = tuple(SourceResult(n, s, reason=f"{n} went {s}") for n, s in statuses.items())
    directory = host_dir(tmp_path / "run")
    _facts, findings = analyse(snapshot_of(directory, status="partial", sources=sources))
    named = {f.evidence.get("source"): f.evidence.get("status") for f in findings if f.check == "source.unavailable"}
    assert {k: named.get(k) for k in statuses} == statuses


def test_whole_pipeline_and_renderers_over_every_bad_host(tmp_path: Path) -> None:
    """All the broken hosts above in one run: analyze and the three renderers finish, every host is reported."""
    root = tmp_path / "run"
    snaps = [snapshot_of(host_dir(root, name=f"db-{k}", db=make(tmp_path), files={"/var/log/syslog": SYSLOG}))
             for k, make in sorted(BAD_DBS.items())]
    huge = b"Sep  1 09:00:00 pi x: " + b"\xff\x00<script>" * 200_000 + b"\n"
    snaps.append(snapshot_of(host_dir(root, name="huge-line", files={"/var/log/syslog": huge})))
    inventory = Inventory(path="inventory.yaml", hosts=tuple(replace(HOST, name=s.host) for s in snaps), groups={})
    report = analyze(run_of(root, snaps), inventory, "warning")
    assert sorted(h.name for h in report.hosts) == sorted(s.host for s in snaps)
    for text in (render_json(report), render_html(report), render_table(report, color=True)):
        assert "db-corrupt" in text
    assert all(h.findings for h in report.hosts if h.name.startswith("db-"))
