"""Syslog parser: both timestamp styles, year inference, cron/systemd/clock/boot lines, real captures."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from fleetaudit.parse import syslog_events as ev
from fleetaudit.parse.lines import StatsBuilder, iter_lines, rotation_order
from fleetaudit.parse.stamps import LineDater, split_tag, year_delta
from fleetaudit.parse.syslog import scan_syslog

DATA = Path(__file__).parent / "data"
CATCHUP = DATA / "cron" / "catchup"
REF = dt.datetime(2026, 12, 3, 17, 0)


def _write(path: Path, text: str) -> Tuple[str, str]:
    path.write_bytes(text.encode())
    return str(path), path.name


@pytest.mark.parametrize("line,program,pid,message", [
    ("Sep 14 05:04:01 raspberrypi CRON[2345]: (pi) CMD (/usr/local/bin/logger.sh)", "CRON", 2345,
     "(pi) CMD (/usr/local/bin/logger.sh)"),
    ("Sep  4 05:17:01 raspberrypi CRON[2391]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)", "CRON",
     2391, "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)"),
    ("2024-01-02T03:04:01.123456+09:00 raspberrypi CRON[2345]: (pi) CMD (/usr/local/bin/logger.sh)", "CRON", 2345,
     "(pi) CMD (/usr/local/bin/logger.sh)"),
    ("2024-01-02T03:04:01.123456+0900 raspberrypi lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found",
     "lircd-0.10.1", 480, "Error: No /sys/class/rc/ devices found"),
    ("Sep 14 04:58:12 raspberrypi cron[412]: (CRON) INFO (pidfile fd = 3)", "cron", 412,
     "(CRON) INFO (pidfile fd = 3)"),
    ("Sep  1 03:30:01 raspberrypi rsyslogd: [origin software=\"rsyslogd\"] start", "rsyslogd", None,
     "[origin software=\"rsyslogd\"] start"),
    ("Sep  1 03:30:01 raspberrypi kernel: [    0.000000] Booting Linux on physical CPU 0x0", "kernel", None,
     "[    0.000000] Booting Linux on physical CPU 0x0"),
])
def test_split_line(line: str, program: str, pid: Optional[int], message: str) -> None:
    dated = LineDater().date(line)
    assert dated is not None
    _host, prog, got_pid, msg = split_tag(line[dated[1]:])
    assert (prog, got_pid, msg) == (program, pid, message)


def test_rfc3339_is_aware() -> None:
    dated = LineDater().date("2024-01-02T03:04:01.123456+09:00 h p: m")
    assert dated is not None
    assert dated[0] == dt.datetime(2024, 1, 2, 3, 4, 1, 123456, dt.timezone(dt.timedelta(hours=9)))


@pytest.mark.parametrize("message,expected", [
    ("(pi) CMD (/usr/local/bin/logger.sh)", ("pi", "/usr/local/bin/logger.sh")),
    ("(root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
     ("root", "   cd / && run-parts --report /etc/cron.hourly")),
    ("(pi) CMD (echo (nested) > /tmp/x)", ("pi", "echo (nested) > /tmp/x")),
    ("pam_unix(cron:session): session opened for user pi(uid=1000) by (uid=0)", ("", "")),
    ("pam_unix(cron:session): session closed for user pi", ("", "")),
    ("(CRON) info (No MTA installed, discarding output)", ("", "")),
    ("(CRON) INFO (Running @reboot jobs)", ("", "")),
    ("(pi) CMD ([323] /usr/local/bin/logtemp.sh logging lock)", ("pi", "/usr/local/bin/logtemp.sh logging lock")),
    ("(pi) END ([323] /usr/local/bin/logtemp.sh logging lock)", ("", "")),
    ("something else", None),
])
def test_cron_messages(message: str, expected: Optional[Tuple[str, str]]) -> None:
    assert ev.classify_cron(message) == expected


@pytest.mark.parametrize("message,expected", [
    ("Starting Daily apt download activities...", ("apt-daily.service", "starting")),
    ("apt-daily.service: Succeeded.", ("apt-daily.service", "deactivated")),
    ("Started Daily apt download activities.", ("apt-daily.service", "started")),
    ("Finished Daily apt upgrade and clean activities.", ("apt-daily-upgrade.service", "finished")),
    ("Starting apt-daily.service - Daily apt download activities...", ("apt-daily.service", "starting")),
    ("apt-daily.service: Deactivated successfully.", ("apt-daily.service", "deactivated")),
    ("Finished apt-daily.service - Daily apt download activities.", ("apt-daily.service", "finished")),
    ("Starting Rotate log files...", ("logrotate.service", "starting")),
    ("Finished Daily man-db regeneration.", ("man-db.service", "finished")),
    ("lircd.service: Failed with result 'exit-code'.", ("lircd.service", "failed")),
    ("Reached target Multi-User System.", None),
    ("Started Session 3 of user pi.", None),
    ("Started Flexible IR remote input/output application support.",
     ("Flexible IR remote input/output application support", "started")),
])
def test_systemd_messages(message: str, expected: Optional[Tuple[str, str]]) -> None:
    assert ev.classify_systemd(message) == expected


@pytest.mark.parametrize("program,message", [
    ("systemd-timesyncd", "Synchronized to time server for the first time 162.159.200.1:123 (2.debian.pool.ntp.org)."),
    ("systemd-timesyncd", "Initial synchronization to time server 162.159.200.1:123 (2.debian.pool.ntp.org)."),
    ("systemd-timesyncd", "Contacted time server 162.159.200.1:123 (2.debian.pool.ntp.org)."),
    ("systemd-timesyncd", "Initial clock synchronization to Mon 2024-09-02 00:44:45.712830 EDT."),
    ("systemd-timesyncd", "System clock time unset or jumped backwards, restoring from recorded timestamp: x"),
    ("fake-hwclock", "Tue  1 Sep 03:30:00 UTC 2020"),
])
def test_clock_messages(program: str, message: str) -> None:
    assert ev.is_clock_message(program, message)


def test_year_rollover_and_reference(tmp_path: Path) -> None:
    text = "Dec 31 23:59:01 pi CRON[1]: (pi) CMD (a)\nJan  1 00:04:01 pi CRON[2]: (pi) CMD (b)\n"
    f = _write(tmp_path / "syslog", text)
    result = scan_syslog([f], reference=dt.datetime(2021, 3, 1))
    assert [r.at for r in result.cron_runs] == [dt.datetime(2020, 12, 31, 23, 59, 1), dt.datetime(2021, 1, 1, 0, 4, 1)]


def test_newest_line_after_reference_is_last_year() -> None:
    last = dt.datetime(2000, 12, 20)
    assert 2000 + year_delta(last, dt.datetime(2026, 12, 3), ()) == 2025
    assert 2000 + year_delta(last, dt.datetime(2026, 12, 19, 12), ()) == 2026


@pytest.mark.parametrize("last,hint,year", [
    (dt.datetime(2000, 9, 15, 5), dt.datetime(2020, 9, 15, 4), 2020),    # simulated fleet: logs of Sep 2020
    (dt.datetime(2000, 9, 10, 5), dt.datetime(2020, 9, 15, 4), 2020),    # partition filled before the logger end
    (dt.datetime(2000, 12, 30, 5), dt.datetime(2021, 1, 2, 4), 2020),    # across New Year
    (dt.datetime(2000, 11, 20, 5), dt.datetime(2020, 9, 1, 4), 2020),    # logger died months before syslog
    (dt.datetime(2000, 12, 3, 5), dt.datetime(2026, 12, 3, 16), 2026),   # live host: logger is current
    (dt.datetime(2000, 12, 3, 5), dt.datetime(2026, 3, 1, 0), 2026),     # logger stale for months: clock wins
])
def test_year_with_year_bearing_evidence(last: dt.datetime, hint: dt.datetime, year: int) -> None:
    assert 2000 + year_delta(last, REF, [hint]) == year


def test_epoch_boot_is_not_a_new_year(tmp_path: Path) -> None:
    text = ("Sep 30 10:00:00 pi x: a\nJan  1 00:00:05 pi kernel: [    0.000000] Booting Linux on physical CPU 0x0\n"
            "Sep 30 10:05:00 pi x: b\n")
    result = scan_syslog([_write(tmp_path / "syslog", text)], reference=REF)
    assert result.coverage.last == dt.datetime(2026, 9, 30, 10, 5)
    assert result.coverage.backwards  # the epoch line went back in time
    assert any(c.source == "log-backwards" for c in result.clock_events)


def test_rotation_order() -> None:
    names = ["syslog", "syslog.1", "syslog.2.gz", "syslog.10.gz", "syslog.3.gz"]
    assert rotation_order(names, "syslog") == ["syslog.10.gz", "syslog.3.gz", "syslog.2.gz", "syslog.1", "syslog"]


def test_gzip_truncated_and_mid_line(tmp_path: Path) -> None:
    body = "".join(f"Sep  1 03:{m:02d}:01 pi CRON[{m}]: (pi) CMD (job)\n" for m in range(50)).encode()
    packed = gzip.compress(body)
    (tmp_path / "syslog.2.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "syslog.1").write_bytes(b"Sep  1 04:00:01 pi CRON[9]: (pi) CMD (job)\nSep  1 04:00:02 pi x: cut")
    files = [(str(tmp_path / n), n) for n in ("syslog.2.gz", "syslog.1")]
    result = scan_syslog(files, reference=REF)
    assert result.stats.truncated_gzip == ("syslog.2.gz",)
    assert result.coverage.ended_mid_line == ("syslog.1",)
    assert 1 <= len(result.cron_runs) < 51


def test_oversized_line_is_clipped(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_bytes(b"Sep  1 03:00:01 pi lircd: " + b"x" * (10 * 1024 * 1024) + b"\nSep  1 03:00:02 pi a: b\n")
    stats = StatsBuilder("t")
    lines = list(iter_lines(str(path), "syslog", stats))
    assert stats.oversized_lines == 1 and len(lines) == 2
    assert len(lines[0][1]) <= 64 * 1024 and lines[0][2] > 10 * 1024 * 1024


def test_silence_and_volumes(tmp_path: Path) -> None:
    text = "".join(f"Sep  1 03:00:{s:02d} pi lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found\n"
                   for s in range(30)) + "Sep  1 09:00:00 pi CRON[1]: (pi) CMD (x)\n"
    result = scan_syslog([_write(tmp_path / "syslog", text)], reference=REF, silence_minutes=120)
    assert result.volumes[0].program == "lircd-0.10.1" and result.volumes[0].lines == 30
    assert result.volumes[0].sample == "Error: No /sys/class/rc/ devices found"
    assert result.coverage.silences == ((dt.datetime(2026, 9, 1, 3, 0, 29), dt.datetime(2026, 9, 1, 9, 0)),)
    assert result.total_lines == 31


def test_journal_boot_markers(tmp_path: Path) -> None:
    text = ("-- Logs begin at Tue 2020-09-01 03:00:00 UTC. --\n"
            "2020-09-01T03:00:01.000000+0000 pi systemd[1]: Starting Rotate log files...\n"
            "-- Boot 0123456789abcdef --\n"
            "2020-09-01T04:00:01.000000+0000 pi kernel: Linux version 5.10.63-v7+\n")
    result = scan_syslog([_write(tmp_path / "journal.txt", text)], "journal", reference=REF)
    assert result.systemd_messages[0].unit == "logrotate.service"
    assert result.boots == (dt.datetime(2020, 9, 1, 4, 0, 1, tzinfo=dt.timezone.utc),)
    assert result.stats.bad_lines == 0


# --- real captures (tests/data/cron/catchup: Debian cron 3.0pl1-162 under libfaketime, rsyslog) ---------------

def _catchup(name: str) -> List[Tuple[str, str]]:
    return [(str(CATCHUP / name), name)]


@pytest.mark.skipif(not (CATCHUP / "syslog").exists(), reason="real capture not present")
@pytest.mark.parametrize("name", ["syslog", "syslog.rfc3339"])
def test_real_cron_catchup_capture(name: str) -> None:
    hint = [dt.datetime(2020, 9, 1, 5, 30)]  # newest row of the capture's logger DB
    result = scan_syslog(_catchup(name), reference=REF, year_hints=hint)
    assert result.stats.bad_lines == 0 and result.stats.lines >= 89
    assert len(result.cron_runs) == 89
    burst = [r for r in result.cron_runs if r.command.endswith("fixed_list")
             and (r.at.hour, r.at.minute) == (5, 4)]
    assert len(burst) == 11
    assert {r.user for r in result.cron_runs} == {"pi", "root"}
    assert [r.command for r in result.cron_runs if r.user == "root"] == [
        "cd / && run-parts --report /etc/cron.hourly"]
    assert result.cron_runs[0].at.year == 2020
    assert len(result.boots) == 1  # rsyslogd start, no kernel lines in the capture
    assert (result.cron_runs[0].at.tzinfo is None) == (name == "syslog")


DRIFT = DATA / "cron" / "drift_pileup"


@pytest.mark.skipif(not (DRIFT / "syslog").exists(), reason="real capture not present")
@pytest.mark.parametrize("name", ["syslog", "syslog.rfc3339"])
def test_real_drift_pileup_capture(name: str) -> None:
    """cron -L 15 (CMD/END with [jobpid]); SIGSTOPs made runs late, then jobs blocked on a lock 04:05-04:32."""
    result = scan_syslog([(str(DRIFT / name), name)], reference=REF, year_hints=[dt.datetime(2020, 9, 14, 4, 50)])
    assert result.stats.bad_lines == 0
    logger = [r for r in result.cron_runs if r.command == "/usr/local/bin/logtemp.sh logging lock"]
    hourly = [r for r in result.cron_runs if r.user == "root"]
    assert len(logger) == 22 and len(hourly) == 2 and len(result.cron_runs) == 24
    assert hourly[0].command == "cd / && run-parts --report /etc/cron.hourly"
    late = [r.at for r in logger if r.at.minute % 5 != 0]
    assert late and all(r.hour == 3 for r in late)   # the drift stretch, all before 04:00
    during_lock = [r.at for r in logger if (4, 5) <= (r.at.hour, r.at.minute) <= (4, 30)]
    assert [(t.hour, t.minute) for t in during_lock] == [(4, 5), (4, 10), (4, 15), (4, 20), (4, 25), (4, 30)]
    assert logger[0].at.date() == dt.date(2020, 9, 14)
