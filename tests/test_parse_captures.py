"""Parsers over the real captures in tests/data (lircd flood, process/df output, dpkg/apt, systemd units).

Each test is skipped when its capture is absent; see tests/data/README.md for how each file was made.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fleetaudit.parse.apt_history import parse_dpkg_log, parse_history
from fleetaudit.parse.df import log_mount, parse_df, parse_log_files
from fleetaudit.parse.dpkg import parse_query, parse_status
from fleetaudit.parse.lines import StatsBuilder
from fleetaudit.parse.processes import parse_ps
from fleetaudit.parse.syslog import scan_syslog
from fleetaudit.parse.system import system_info
from fleetaudit.parse.systemd import build_services, parse_timer, with_enablement

DATA = Path(__file__).parent / "data"
LIRCD, PROCS, DPKG, UNITS = DATA / "lircd", DATA / "procs", DATA / "dpkg", DATA / "systemd"
REF = dt.datetime(2026, 12, 3, 17, 27)


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real capture {path.name} not present")


def test_lircd_flood_syslog() -> None:
    """lircd 0.10.1 unconfigured with irexec connected filled a 1 MiB tmpfs /var/log; the file ends mid-line."""
    _need(LIRCD / "syslog.tail")
    files = [(str(LIRCD / "syslog.head"), "syslog.head"), (str(LIRCD / "syslog.tail"), "syslog.tail")]
    result = scan_syslog(files, reference=REF, year_hints=[dt.datetime(2020, 9, 14, 3, 39)])
    top = result.volumes[0]
    assert top.program == "lircd-0.10.1" and top.lines > 0.99 * result.total_lines
    assert top.first is not None and top.first.date() == dt.date(2020, 9, 14)
    assert result.coverage.ended_mid_line == ("syslog.tail",)
    assert result.stats.ended_mid_line == ("syslog.tail",)
    flood = [v for v in result.volumes if v.program == "lircd-0.10.1"][0]
    assert flood.last is not None and flood.last.hour == 3
    assert len(result.boots) == 1   # rsyslogd start


def test_lircd_full_partition_df_and_processes() -> None:
    _need(LIRCD / "df.txt")
    df_text = (LIRCD / "df.txt").read_text()
    fss = {f.mount: f for f in parse_df(df_text, (LIRCD / "df_inodes.txt").read_text())}
    assert log_mount(df_text) == "/var/log"
    assert fss["/var/log"].use_percent == 100.0 and fss["/var/log"].avail_bytes == 0
    assert fss["/var/log"].size_bytes == 1024 * 1024 and fss["/var/log"].inode_use_percent == 1.0
    assert parse_log_files((LIRCD / "log_files.txt").read_text()) == (("/var/log/syslog", 1048576),)
    procs, bad = parse_ps((LIRCD / "ps.txt").read_text())
    assert bad == 0 and {"lircd", "irexec"} <= {p.command for p in procs}
    assert [p.args for p in procs if p.command == "lircd"] == ["lircd --nodaemon"]


def test_procs_capture_and_services_without_systemd() -> None:
    """ps inside the simulated host's PID namespace; systemd does not run there, so running comes from ps."""
    _need(PROCS / "ps.txt")
    procs, bad = parse_ps((PROCS / "ps.txt").read_text())
    assert bad == 0 and procs[0].pid == 1
    assert any(p.command == "sshd" and p.args.startswith("sshd: /usr/sbin/sshd") for p in procs)
    ns_df = (PROCS / "df.ns.txt").read_text()
    assert log_mount(ns_df) == "/var/log" and log_mount((PROCS / "df.host.txt").read_text()) == "/"
    info = system_info(hostname=(PROCS / "hostname.txt").read_text(), kernel=(PROCS / "kernel.txt").read_text(),
                       clock=(PROCS / "clock.txt").read_text())
    assert info.hostname == "raspberrypi" and info.collected_at is not None
    assert info.collected_at.utcoffset() == dt.timedelta(0)
    assert info.kernel.startswith("Linux ") and info.utc_offset == "+0000"
    _need(UNITS / "unit_links.txt")
    services = {s.name: s for s in build_services(
        (UNITS / "unit_links.txt").read_text(), (UNITS / "unit_owners.txt").read_text(),
        "System has not been booted with systemd as init system (PID 1). Can't operate.\n", procs)}
    assert services["lircd.service"].enabled and services["lircd.service"].running
    assert services["lircd.service"].package == "lirc"
    assert services["softether-vpnserver.service"].running and services["cron.service"].running
    assert services["irexec.service"].running and services["irexec.service"].enabled is False
    assert services["ssh.service"].running and services["postgresql.service"].running is False


def test_real_units_timers_enablement() -> None:
    _need(UNITS / "unit_links.txt")
    stats = StatsBuilder("timer_units")
    timers = [parse_timer(str(p), f"files/lib/systemd/system/{p.name}", stats) for p in sorted(UNITS.glob("*.timer"))]
    found = {t.name: t for t in with_enablement([t for t in timers if t is not None],
                                                (UNITS / "unit_links.txt").read_text())}
    assert found["apt-daily.timer"].enabled and found["apt-daily.timer"].randomized_delay_s == 12 * 3600
    assert found["apt-daily-upgrade.timer"].on_calendar == ("*-*-* 6:00",)
    assert found["logrotate.timer"].persistent and found["man-db.timer"].enabled
    assert stats.freeze().bad_lines == 0 and not stats.errors


def test_real_dpkg_and_apt() -> None:
    _need(DPKG / "status")
    packages, stats = parse_status(str(DPKG / "status"))
    assert len(packages) >= 10 and stats.freeze().bad_lines == 0
    assert {p.name: p.version for p in packages}["lirc"] == "0.10.1-7.2"
    query = {p.name: p.version for p in parse_query((DPKG / "dpkg-query-W.txt").read_text())}
    assert query["liblirc0"] == "0.10.1-7.2" and query["softether-vpnserver"].startswith("5.01.9674")
    hist, hstats = parse_history([(str(DPKG / "history.log"), "history.log")])
    lirc = [a for a in hist if a.package == "lirc"]
    assert [a.action for a in lirc] == ["install"] and lirc[0].at.year >= 2026
    assert "lirc" in lirc[0].commandline and hstats.freeze().bad_lines == 0
    log, lstats = parse_dpkg_log([(str(DPKG / "dpkg.log.lirc-install-run"), "dpkg.log")])
    assert ("install", "lirc", "0.10.1-7.2") in [(a.action, a.package, a.version) for a in log]
    assert len(log) > 100 and lstats.freeze().bad_lines == 0
