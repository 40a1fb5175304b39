"""A hand-made fleet modelled on the incident Pi, its healthy twin and an unreachable board.

Shared by the timeline, compare and report tests (imported as ``test_report_fixture``); the facts and
findings are what the parsers and checks produce for the simulated fleet, built directly so these tests
do not depend on those stages.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from fleetaudit.facts import (
    AuthEvent,
    ClockEvent,
    CronJob,
    CronRun,
    Filesystem,
    HostFacts,
    LogCoverage,
    LoggerData,
    LoggerRow,
    Package,
    PackageAction,
    ServiceState,
    SystemdMessage,
    SystemInfo,
    TimerUnit,
    VpnEvent,
)
from fleetaudit.model import Finding, FleetReport, Host, HostSnapshot, RunSnapshot, SourceResult
from fleetaudit.pipeline import assemble

PI, TWIN, OFFLINE = "pi-incident", "pi-twin", "pi-offline"
GROUPS: Dict[str, Tuple[str, ...]] = {"softether_3bplus": (PI, TWIN)}
GENERATED_AT = "2020-09-15T06:00:00+00:00"
D = dt.datetime

TIMERS = (
    TimerUnit("apt-daily.timer", ("*-*-* 6,18:00",), randomized_delay_s=43200, persistent=True, enabled=True,
              unit="apt-daily.service"),
    TimerUnit("apt-daily-upgrade.timer", ("*-*-* 6:00",), randomized_delay_s=3600, persistent=True, enabled=True,
              unit="apt-daily-upgrade.service"),
    TimerUnit("fstrim.timer", ("weekly",), accuracy_s=3600, enabled=True, unit="fstrim.service"),
    TimerUnit("backup.timer", ("*-*-* 03:00 Europe/Berlin",), enabled=True, unit="backup.service"),
)
COMMON_PACKAGES = (
    Package("cron", "3.0pl1-134+deb10u1", "armhf", "install ok installed"),
    Package("rsyslog", "8.1901.0-1", "armhf", "install ok installed"),
    Package("sqlite3", "3.27.2-3", "armhf", "install ok installed"),
    Package("softether-vpnserver", "4.29+9680", "armhf", "install ok installed"),
)
LIRC_PACKAGES = (
    Package("lirc", "0.10.1-6.3", "armhf", "install ok installed"),
    Package("liblirc-client0", "0.10.1-6.3", "armhf", "install ok installed"),
)
COMMON_SERVICES = (
    ServiceState("cron.service", True, True, "cron"),
    ServiceState("rsyslog.service", True, True, "rsyslog"),
    ServiceState("vpnserver.service", True, True),
)
LOGTEMP = CronJob("/etc/crontab", 23, "pi", "0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * *",
                  "/usr/local/bin/logtemp.sh", wildcard=False, catches_up=True, interval_minutes=5,
                  minutes=tuple(range(0, 60, 5)), hours=tuple(range(24)))


def _day_rows(day: D, burst_after: D, burst_at: D, start_id: int, hot: float) -> List[LoggerRow]:
    rows: List[LoggerRow] = []
    slot = day
    while slot < day + dt.timedelta(days=1):
        stamp = burst_at if burst_after < slot <= burst_at else slot
        temp = hot if burst_after < slot <= burst_at + dt.timedelta(minutes=30) else 47.0
        rows.append(LoggerRow(start_id + len(rows), stamp, stamp.strftime("%Y-%m-%d %H:%M"), temp, 21.0))
        slot += dt.timedelta(minutes=5)
    return rows


def logger_rows(burst: bool) -> Tuple[LoggerRow, ...]:
    """Return rows for Sep 1 and Sep 14 2020, every 5 minutes; with the two 11-row bursts when asked."""
    if not burst:
        return tuple(_day_rows(D(2020, 9, 1), D(2000, 1, 1), D(2000, 1, 1), 1, 47.0)
                     + _day_rows(D(2020, 9, 14), D(2000, 1, 1), D(2000, 1, 1), 289, 47.0))
    return tuple(_day_rows(D(2020, 9, 1), D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), 1, 56.0)
                 + _day_rows(D(2020, 9, 14), D(2020, 9, 14, 3, 40), D(2020, 9, 14, 4, 39), 289, 55.5))


def _base_facts(name: str, burst: bool) -> Dict[str, object]:
    return dict(
        host=name,
        system=SystemInfo(hostname=name, model="Raspberry Pi 3 Model B Plus Rev 1.3",
                          os_release="Raspbian GNU/Linux 10 (buster)", kernel="Linux 5.4.51-v7+ #1333 SMP armv7l",
                          uptime_s=86400 * 14.0, soc_temp_c=48.3, collected_at=D(2020, 9, 15, 6, 0),
                          utc_offset="+0900"),
        source_status={"syslog": "ok", "auth": "ok", "dpkg_status": "ok"},
        timers=TIMERS,
        cron_jobs=(LOGTEMP,),
        logger=LoggerData("/var/logger/logging.db", "temperatures", "timestamp", 5, logger_rows(burst),
                          "temperature", "ambient"),
        log_mount="/var/log",
    )


def pi_facts() -> HostFacts:
    """Return the incident Pi: bursts, lirc installed and running, /var/log full since Aug 12."""
    base = _base_facts(PI, burst=True)
    return HostFacts(
        **base,  # type: ignore[arg-type]
        packages=COMMON_PACKAGES + LIRC_PACKAGES,
        services=COMMON_SERVICES + (ServiceState("lircd.service", True, True, "lirc"),),
        package_actions=(PackageAction(D(2020, 8, 1, 14, 2), "install", "lirc", "0.10.1-6.3", "apt-history",
                                       "apt install lirc", "pi"),),
        filesystems=(Filesystem("/dev/mmcblk0p3", "/var/log", 209715200, 209715200, 0, 100.0, 51200, 812, 2.0),),
        coverage=(LogCoverage("syslog", D(2020, 8, 5, 0, 0), D(2020, 8, 12, 5, 0), ("files/var/log/syslog",)),),
        vpn_events=(VpnEvent(D(2020, 9, 1, 5, 5, 12), "start", "server_log/vpn_20200901.log", 1,
                             "The SoftEther VPN Server has been started."),
                    VpnEvent(D(2020, 9, 14, 4, 40, 3), "start", "server_log/vpn_20200914.log", 1,
                             "The SoftEther VPN Server has been started.")),
    )


def twin_facts() -> HostFacts:
    """Return the healthy twin: same SoftEther setup, no lirc, logs intact."""
    base = _base_facts(TWIN, burst=False)
    tz = dt.timezone(dt.timedelta(hours=9))
    return HostFacts(
        **base,  # type: ignore[arg-type]
        packages=COMMON_PACKAGES,
        services=COMMON_SERVICES,
        filesystems=(Filesystem("/dev/mmcblk0p3", "/var/log", 209715200, 48234496, 161480704, 23.0, 51200, 700, 1.4),),
        coverage=(LogCoverage("syslog", D(2020, 8, 5, 0, 0), D(2020, 9, 15, 6, 0), ("files/var/log/syslog",)),),
        cron_runs=(CronRun(D(2020, 9, 1, 4, 10, 1), "pi", "/usr/local/bin/logtemp.sh", 811,
                           "CRON[811]: (pi) CMD (/usr/local/bin/logtemp.sh)"),),
        systemd_messages=(SystemdMessage(D(2020, 9, 1, 4, 31, 7), "apt-daily.service", "starting",
                                         "Starting Daily apt download activities..."),),
        auth_events=(AuthEvent(D(2020, 9, 1, 8, 0, 2, tzinfo=tz), "accepted", "pi", "192.168.1.20", "publickey"),
                     AuthEvent(D(2020, 9, 1, 8, 1, 0, tzinfo=tz), "sudo", "pi", command="/usr/bin/apt update")),
        clock_events=(ClockEvent(D(2020, 9, 1, 0, 0, 30), 3.5, "timesyncd", "Synchronized to time server"),),
        boots=(D(2020, 9, 1, 0, 0, 5),),
    )


def _burst(day: int, gap_from: str, stamp: str) -> Finding:
    summary = f"11 logger rows share the stamp {stamp} after a gap from {gap_from}."
    return Finding(PI, "logger.burst", "warning", summary,
                   f"2020-09-{day:02d}T{gap_from}:00", f"2020-09-{day:02d}T{stamp}:00",
                   {"stamp": f"2020-09-{day:02d} {stamp}", "count": 11, "gap_from": f"2020-09-{day:02d} {gap_from}",
                    "missing_slots": 0, "cause": "unknown",
                    "cause_evidence": ["syslog has no line after 2020-08-12 05:00 (partition full)"]})


def _spike(day: int, start: str, end: str) -> Finding:
    return Finding(PI, "thermal.spike", "warning", "The SoC ran 9 °C above its baseline.",
                   f"2020-09-{day:02d}T{start}:00", f"2020-09-{day:02d}T{end}:00",
                   {"start": f"2020-09-{day:02d} {start}", "end": f"2020-09-{day:02d} {end}", "peak_c": 56.0,
                    "baseline_c": 47.0, "rise_c": 9.0, "ambient_change_c": 0.0})


def _vpn(day: int, at: str) -> Finding:
    return Finding(PI, "vpn.unclean_restart", "warning", "vpnserver started with no shutdown before it.",
                   f"2020-09-{day:02d}T{at}", f"2020-09-{day:02d}T{at}",
                   {"started_at": f"2020-09-{day:02d}T{at}", "last_line_before": "Connection \"CID-7\" terminated.",
                    "file": f"server_log/vpn_202009{day:02d}.log"})


def pi_findings() -> Tuple[Finding, ...]:
    """Return the findings the checks raise on the incident Pi (fingerprints left empty on purpose)."""
    return (
        _burst(1, "04:05", "05:04"), _spike(1, "05:04", "05:30"), _vpn(1, "05:05:12"),
        Finding(PI, "logger.late_drift", "info", "The logger ran up to 4 min late.", "2020-09-14T02:00:00",
                "2020-09-14T03:40:00", {"start": "2020-09-14 02:00", "end": "2020-09-14 03:40", "max_late_minutes": 4}),
        _burst(14, "03:40", "04:39"), _spike(14, "04:39", "05:05"), _vpn(14, "04:40:03"),
        Finding(PI, "disk.log_partition_full", "critical", "/var/log is 100% full.", "2020-08-12T05:00:00", None,
                {"mount": "/var/log", "use_percent": 100.0, "inode_use_percent": 2.0, "avail_bytes": 0,
                 "largest_files": [["/var/log/syslog", 104857600], ["/var/log/daemon.log", 94371840]]}),
        Finding(PI, "logs.noisy_program", "warning", "lircd-0.10.1 wrote 97% of the log lines.", "2020-08-01T14:05:00",
                "2020-08-12T05:00:00", {"program": "lircd-0.10.1", "lines": 1843200, "bytes": 188743680,
                                        "share_percent": 97.0, "first": "2020-08-01T14:05:00",
                                        "last": "2020-08-12T05:00:00",
                                        "sample": "lircd-0.10.1[612]: Error: No /sys/class/rc/ devices found"}),
        Finding(PI, "services.unexpected", "warning", "lircd.service runs here but not on its peers.", None, None,
                {"service": "lircd.service", "running": True, "enabled": True, "package": "lirc",
                 "installed_at": "2020-08-01T14:02:00"}),
        Finding(PI, "logs.lost_window", "warning", "The syslog does not cover the burst of Sep 1.",
                "2020-09-01T04:05:00", "2020-09-01T05:04:00",
                {"window_start": "2020-09-01T04:05:00", "window_end": "2020-09-01T05:04:00",
                 "covered_from": "2020-08-05T00:00:00", "reason": "partition full since Aug 12"}),
    )


def twin_findings() -> Tuple[Finding, ...]:
    """Return the twin's only finding: an informational accepted login."""
    return (Finding(TWIN, "auth.accepted_login", "info", "pi logged in from 192.168.1.20 with a key.",
                    "2020-09-01T08:00:02+09:00", "2020-09-01T08:00:02+09:00",
                    {"user": "pi", "source": "192.168.1.20", "count": 1}, status="ongoing", fingerprint="twin-login"),)


def snapshots(pi_name: str = PI) -> Tuple[HostSnapshot, ...]:
    """Return the three hosts' snapshot entries (the offline one unreachable, the Pi partial)."""
    ok = SourceResult("syslog", "ok", ("files/var/log/syslog",), 1024)
    return (
        HostSnapshot(pi_name, "partial", "", "/reports/run/pi", (ok, SourceResult("auth", "denied", (), 0,
                                                                      reason="permission denied (no sudo)")),
                     groups=("softether_3bplus",)),
        HostSnapshot(TWIN, "ok", "", "/reports/run/twin", (ok,), groups=("softether_3bplus",)),
        HostSnapshot(OFFLINE, "unreachable", "connection refused (127.0.0.9:22)", "/reports/run/offline"),
    )


def fleet_report(pi_name: str = PI, pi_findings_: Sequence[Finding] = (), fail_on: str = "warning") -> FleetReport:
    """Return the representative FleetReport built through pipeline.assemble."""
    snaps = snapshots(pi_name)
    run = RunSnapshot("20200915T060000Z", "/reports/20200915T060000Z", "inventory.yaml", snaps,
                      "2020-09-15T06:00:00Z", "2020-09-15T06:01:10Z", True)
    facts: Mapping[str, HostFacts] = {pi_name: replace(pi_facts(), host=pi_name), TWIN: twin_facts()}
    mine = [replace(f, host=pi_name) for f in (tuple(pi_findings_) or pi_findings())]
    findings = {pi_name: tuple(mine), TWIN: twin_findings()}
    groups = {"softether_3bplus": (pi_name, TWIN)}
    hosts = {s.host: Host(name=s.host, groups=s.groups) for s in snaps}
    return assemble(run, hosts, facts, findings, groups, fail_on, GENERATED_AT)


def test_fixture_report_is_consistent() -> None:
    """The fixture fleet has three hosts, two incidents on the Pi, and exit status 2 (one unreachable)."""
    report = fleet_report()
    assert [h.name for h in report.hosts] == [PI, TWIN, OFFLINE]
    assert [i.host for i in report.incidents] == [PI, PI]
    assert report.exit_status == 2


GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REGEN_ENV = "FLEETAUDIT_REGEN_GOLDEN"


def check_golden(name: str, text: str) -> None:
    """Compare text with tests/golden/<name>; rewrite the file instead when FLEETAUDIT_REGEN_GOLDEN=1."""
    path = GOLDEN_DIR / name
    if not path.exists() and os.environ.get("CI") == "true":
        raise AssertionError(f"golden file {path} is missing: make it with {REGEN_ENV}=1 and commit it")
    if os.environ.get(REGEN_ENV) == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; rerun with {REGEN_ENV}=1 if intended"
