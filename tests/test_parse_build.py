"""build_facts over a snapshot directory laid out as collect/sources.py says, made of real captured files."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

from fleetaudit.model import Host, HostSnapshot, LoggerSpec, SourceResult
from fleetaudit.parse import build_facts

DATA = Path(__file__).parent / "data"
CATCHUP = DATA / "cron" / "catchup"
PARSE = DATA / "parse"


def _put(root: Path, rel: str, content: bytes) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return rel


def _snapshot(root: Path) -> HostSnapshot:
    syslog = (CATCHUP / "syslog").read_bytes()
    half = syslog.index(b"Sep  1 05:05")
    files = [_put(root, "files/var/log/syslog.2.gz", gzip.compress(syslog[:half])),
             _put(root, "files/var/log/syslog.1", syslog[half:]),
             _put(root, "files/var/log/syslog", b"")]
    _put(root, "files/var/log/auth.log", (CATCHUP / "auth.log").read_bytes())
    (root / "logger").mkdir()
    shutil.copy(CATCHUP / "fixed_list.db", root / "logger" / "logger.db")
    _put(root, "files/etc/cron.d/logtemp", (CATCHUP / "etc_cron.d_logtemp").read_bytes())
    _put(root, "files/var/spool/cron/crontabs/pi", (CATCHUP / "crontab_pi").read_bytes())
    for timer in PARSE.joinpath("timers").iterdir():
        _put(root, f"files/lib/systemd/system/{timer.name}", timer.read_bytes())
    _put(root, "files/var/lib/dpkg/status", (PARSE / "dpkg_status").read_bytes())
    _put(root, "files/var/log/apt/history.log", (PARSE / "apt_history.log").read_bytes())
    _put(root, "files/var/log/dpkg.log", (PARSE / "dpkg.log").read_bytes())
    _put(root, "files/var/log/softether/server_log/vpn_20200901.log",
         b"2020-09-01 05:04:30.000 The SoftEther VPN Server has been started.\r\n")
    _put(root, "cmd/df.txt", b"Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                             b"tmpfs 51200 51200 0 100% /var/log\n/dev/root 30363288 4186520 24877064 15% /\n")
    _put(root, "cmd/clock.txt", b"2026-12-03T17:02:53+0000\n")
    _put(root, "cmd/hostname.txt", b"raspberrypi\n")
    _put(root, "cmd/unit_links.txt", b"/etc/systemd/system/timers.target.wants/apt-daily.timer\t/x\n"
                                     b"/etc/systemd/system/multi-user.target.wants/lircd.service\t/x\n")
    _put(root, "cmd/unit_owners.txt", b"/var/lib/dpkg/info/lirc.list:/lib/systemd/system/lircd.service\n")
    _put(root, "cmd/systemctl_units.txt", b"System has not been booted with systemd as init system (PID 1).\n")
    _put(root, "cmd/processes.txt", b"  480 root Thu Sep  1 03:30:05 2020 lircd /usr/sbin/lircd --nodaemon\n")
    sources = (SourceResult("syslog", "ok", tuple(files)), SourceResult("auth", "denied", reason="sudo refused"))
    return HostSnapshot("pi-a", "ok", "", str(root), sources)


def test_build_facts_from_real_captures(tmp_path: Path) -> None:
    host = Host("pi-a", logger=LoggerSpec(table="temperatures", timestamp_column="timestamp"))
    facts = build_facts(_snapshot(tmp_path), host)
    assert facts.system.hostname == "raspberrypi"
    assert facts.source_status == {"syslog": "ok", "auth": "denied"}
    assert len(facts.cron_runs) == 89 and facts.cron_runs[0].at.year == 2020   # year from the logger rows
    assert facts.coverage[0].files == ("files/var/log/syslog.2.gz", "files/var/log/syslog.1", "files/var/log/syslog")
    assert facts.logger is not None and facts.logger.interval_minutes == 5 and len(facts.logger.rows) == 24
    assert [j.catches_up for j in facts.cron_jobs].count(True) == 2
    assert facts.log_mount == "/var/log" and facts.filesystems[0].use_percent == 100.0
    assert [e.kind for e in facts.vpn_events] == ["start"]
    assert {t.name: t.enabled for t in facts.timers}["apt-daily.timer"] is True
    assert [(s.name, s.running, s.package) for s in facts.services] == [("lircd.service", True, "lirc")]
    assert any(a.package == "lirc" and a.action == "install" for a in facts.package_actions)
    assert any(p.name == "lirc" for p in facts.packages)
    assert len(facts.auth_events) == 178
    assert [b.replace(second=0) for b in facts.boots] == [dt.datetime(2020, 9, 1, 3, 30)]
    assert all(not s.errors for s in facts.read_stats)
    assert [c.source for c in facts.coverage] == ["syslog", "auth", "softether"]
    assert facts.coverage[1].first is not None and facts.coverage[1].first.replace(second=0) == dt.datetime(
        2020, 9, 1, 3, 35)


def test_build_facts_empty_and_garbage_dir(tmp_path: Path) -> None:
    empty = build_facts(HostSnapshot("x", "unreachable", "refused", str(tmp_path / "nope")), None)
    assert empty.host == "x" and empty.logger is None and not empty.cron_runs
    _put(tmp_path, "files/var/log/syslog", b"\xff\x00" * 1000 + b"\n" * 3)
    _put(tmp_path, "logger/logger.db", b"garbage")
    _put(tmp_path, "files/var/lib/dpkg/status", b"\x00\x01: :\n\n\n")
    _put(tmp_path, "cmd/df.txt", b"\xff\xfe")
    facts = build_facts(HostSnapshot("y", "ok", "", str(tmp_path)), None)
    assert facts.logger is not None and facts.logger.error
    assert sum(s.nul_lines for s in facts.read_stats) >= 1


def test_journal_only_host_and_messages_fallback(tmp_path: Path) -> None:
    journal = ("-- Journal begins at Tue 2020-09-01 03:00:00 UTC. --\n"
               "2020-09-01T03:35:01.100000+0000 raspberrypi CRON[339]: (pi) CMD (/usr/local/bin/logtemp.sh)\n"
               "2020-09-01T03:36:00.000000+0000 pi sshd[51]: Failed password for pi from 10.0.0.9 port 4 ssh2\n")
    _put(tmp_path / "a", "cmd/journal.txt", journal.encode())
    source = SourceResult("journal", "truncated", ("cmd/journal.txt",), truncated=True)
    facts = build_facts(HostSnapshot("a", "ok", "", str(tmp_path / "a"), (source,)), None)
    assert facts.coverage[0].source == "journal" and facts.coverage[0].truncated
    assert facts.cron_runs[0].at == dt.datetime(2020, 9, 1, 3, 35, 1, 100000, dt.timezone.utc)
    assert [(e.kind, e.source_ip) for e in facts.auth_events] == [("failed", "10.0.0.9")]
    _put(tmp_path / "b", "files/var/log/messages", b"Sep  1 03:35:01 pi lircd-0.10.1[480]: Warning: x\n")
    _put(tmp_path / "b", "files/var/log/messages.1", b"Sep  1 03:30:01 pi lircd-0.10.1[480]: Notice: y\n")
    _put(tmp_path / "b", "cmd/clock.txt", b"2020-09-02T00:00:00+0000\n")
    facts = build_facts(HostSnapshot("b", "ok", "", str(tmp_path / "b")), None)
    assert facts.coverage[0].files == ("files/var/log/messages.1", "files/var/log/messages")
    assert facts.volumes[0].program == "lircd-0.10.1" and facts.volumes[0].lines == 2
    assert facts.coverage[0].first == dt.datetime(2020, 9, 1, 3, 30, 1)
