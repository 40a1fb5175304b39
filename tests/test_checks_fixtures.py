"""Builders of HostFacts for the incident Pi and its healthy twin (no tests here; imported by test_checks_*)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from fleetaudit.checks import CheckContext, run_checks
from fleetaudit.facts import (
    AuthEvent,
    CronJob,
    CronRun,
    Filesystem,
    HostFacts,
    LogCoverage,
    LoggerData,
    LoggerRow,
    PackageAction,
    ProgramVolume,
    ServiceState,
    SystemInfo,
    VpnEvent,
)
from fleetaudit.model import Finding, Host

D = dt.datetime
STEP = dt.timedelta(minutes=5)
CRON_CMD = "/usr/local/bin/logtemp.sh"
COLLECTED = D(2020, 10, 2, 9, 0)


def day_slots(day: dt.date) -> List[D]:
    """Return the 288 five-minute slots of one day."""
    start = D(day.year, day.month, day.day)
    return [start + STEP * i for i in range(288)]


def _temp(at: D) -> float:
    """A gentle daily curve around 48 C (never a spike)."""
    return round(48.0 + 2.0 * (1 - abs(at.hour - 14) / 14), 1)


def burst_day(day: dt.date, last_before: D, burst_at: D, late: Dict[D, int]) -> List[Tuple[D, float]]:
    """Return one day's (stamp, temperature) with the slots after ``last_before`` written at ``burst_at``."""
    out = []
    for slot in day_slots(day):
        if last_before < slot < burst_at:
            out.append((burst_at, 72.0))
        elif slot >= burst_at and slot - burst_at < dt.timedelta(minutes=30):
            out.append((slot, 60.0))
        else:
            out.append((slot + dt.timedelta(minutes=late.get(slot, 0)), _temp(slot)))
    return out


SEP14_LATE = {D(2020, 9, 14, 3, 0) + STEP * i: m for i, m in enumerate((1, 1, 2, 2, 3, 3, 4, 4, 4))}


def incident_rows() -> Tuple[LoggerRow, ...]:
    """Sep 1-15 2020 every 5 minutes; 11 rows at 09-01 05:04 after 04:05; 11 at 09-14 04:39 after late runs."""
    pairs: List[Tuple[D, float]] = []
    for n in range(1, 16):
        day = dt.date(2020, 9, n)
        if n == 1:
            pairs += burst_day(day, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), {})
        elif n == 14:
            pairs += burst_day(day, D(2020, 9, 14, 3, 40), D(2020, 9, 14, 4, 39), SEP14_LATE)
        else:
            pairs += [(s, _temp(s)) for s in day_slots(day)]
    return rows_from(pairs)


def twin_rows() -> Tuple[LoggerRow, ...]:
    """The healthy twin: every slot on time, Sep 1-15 2020."""
    return rows_from([(s, _temp(s)) for n in range(1, 16) for s in day_slots(dt.date(2020, 9, n))])


def rows_from(pairs: Sequence[Tuple[D, float]]) -> Tuple[LoggerRow, ...]:
    """Number (stamp, temperature) pairs as logger rows."""
    return tuple(LoggerRow(i + 1, at, at.strftime("%Y-%m-%d %H:%M"), temp) for i, (at, temp) in enumerate(pairs))


def logger(rows: Tuple[LoggerRow, ...]) -> LoggerData:
    """Wrap rows as the logger DB read from the snapshot."""
    return LoggerData("/var/logger/logging.db", "temperatures", "timestamp", 5, rows, "temperature")


def cron_job(schedule: str = "0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * *", catches_up: bool = True) -> CronJob:
    """The logger's crontab line (fixed-time by default)."""
    return CronJob("etc/crontab", 12, "pi", schedule, CRON_CMD, not catches_up, catches_up, 5,
                   tuple(range(0, 60, 5)), tuple(range(24)))


def cmd_line(at: D, pid: int = 2345) -> CronRun:
    """One cron CMD line for the logger job."""
    text = f"{at:%b %e %H:%M:%S} pi CRON[{pid}]: (pi) CMD ({CRON_CMD})"
    return CronRun(at, "pi", CRON_CMD, pid, text)


def cron_runs_for(rows: Sequence[LoggerRow]) -> Tuple[CronRun, ...]:
    """CMD lines exactly where the rows are (what cron did when it caught up)."""
    return tuple(cmd_line(r.stamp + dt.timedelta(seconds=1 + i % 20), 1000 + i) for i, r in enumerate(rows))


def syslog_cov(first: D, last: D, **kw: object) -> LogCoverage:
    """Coverage of the syslog source."""
    return LogCoverage("syslog", first, last, ("files/var/log/syslog",), **kw)  # type: ignore[arg-type]


VPN_START = ("The SoftEther VPN Server has been started.")


def vpn(at: D, kind: str, text: str, lineno: int = 1) -> VpnEvent:
    """One SoftEther server log event."""
    return VpnEvent(at, kind, f"files/var/log/softether/server_log/vpn_{at:%Y%m%d}.log", lineno, text)


def vpn_events(unclean: bool) -> Tuple[VpnEvent, ...]:
    """Install start, a listener line each day; unclean starts right after each burst when asked."""
    events = [vpn(D(2020, 8, 1, 10, 0), "start", VPN_START)]
    events += [vpn(D(2020, 9, n, 0, 0), "listener_start", "TCP Listener (port 443) has started.") for n in range(1, 16)]
    if unclean:
        events += [vpn(D(2020, 9, 1, 5, 6), "start", VPN_START), vpn(D(2020, 9, 14, 4, 41), "start", VPN_START)]
    else:
        events += [vpn(D(2020, 9, 5, 3, 0), "shutdown_begin", "The Server Engine shutdown processing has started."),
                   vpn(D(2020, 9, 5, 3, 0, 1), "shutdown_done", "The SoftEther VPN Server Engine has been "
                       "successfully shutdown."),
                   vpn(D(2020, 9, 5, 3, 1), "start", VPN_START)]
    return tuple(events)


def base_facts(name: str) -> HostFacts:
    """Facts every Pi in the story shares."""
    return HostFacts(
        host=name, system=SystemInfo(hostname=name, model="Raspberry Pi 3 Model B Plus Rev 1.3",
                                     collected_at=COLLECTED),
        source_status={"hostname": "ok", "syslog": "ok", "auth": "ok", "journal": "missing", "dpkg_status": "ok",
                       "df": "ok", "df_inodes": "ok", "softether": "ok", "logger_db": "ok",
                       "systemctl_units": "error", "apt_history": "ok"},
        cron_jobs=(cron_job(),),
        services=(ServiceState("ssh.service", True, True, "openssh-server"), ServiceState("cron.service", True, True),
                  ServiceState("vpnserver.service", True, True, "softether-vpnserver")),
        log_mount="/",
        auth_events=(AuthEvent(D(2020, 9, 10, 20, 0), "accepted", "pi", "192.168.1.20", "publickey"),),
    )


def twin_facts() -> HostFacts:
    """The healthy twin 3B+: same SoftEther setup, none of the trouble."""
    rows = twin_rows()
    vols = (ProgramVolume("CRON", 4 * 4320, 4 * 4320 * 80, D(2020, 9, 1), D(2020, 9, 15, 23, 55), "(pi) CMD"),
            ProgramVolume("rsyslogd", 30, 3000, D(2020, 9, 1), D(2020, 9, 15), "rsyslogd was HUPed"))
    return replace(
        base_facts("pi-twin"), logger=logger(rows), cron_runs=cron_runs_for(rows),
        coverage=(syslog_cov(D(2020, 8, 30, 6, 25), D(2020, 9, 15, 23, 55, 1)),), vpn_events=vpn_events(False),
        volumes=vols, log_total_lines=sum(v.lines for v in vols), log_total_bytes=sum(v.bytes for v in vols),
        filesystems=(Filesystem("/dev/root", "/", 30 * 2**30, 6 * 2**30, 24 * 2**30, 20.0, 1900000, 100000, 6.0),),
        largest_log_files=(("/var/log/syslog", 2_000_000),),
    )


LIRC_SAMPLE = "Error: No /sys/class/rc/ devices found"


def incident_facts() -> HostFacts:
    """The incident 3B+: bursts, late drift, full log partition eaten by lircd, unclean VPN restarts."""
    rows = incident_rows()
    vols = (ProgramVolume("lircd-0.10.1", 900_000, 60_000_000, D(2020, 8, 12, 9), D(2020, 8, 22, 11), LIRC_SAMPLE),
            ProgramVolume("CRON", 12000, 960_000, D(2020, 8, 10), D(2020, 8, 22, 11), "(pi) CMD"))
    install = PackageAction(D(2020, 8, 12, 8, 55), "install", "lirc:armhf", "0.10.1-6.3", "apt-history",
                            "apt install lirc", "pi (1000)")
    return replace(
        base_facts("pi-incident"), logger=logger(rows),
        coverage=(syslog_cov(D(2020, 8, 10), D(2020, 8, 22, 11, 0)),), vpn_events=vpn_events(True),
        volumes=vols, log_total_lines=sum(v.lines for v in vols), log_total_bytes=sum(v.bytes for v in vols),
        filesystems=(Filesystem("/dev/root", "/", 30 * 2**30, 30 * 2**30, 0, 100.0, 1900000, 100000, 6.0),),
        largest_log_files=(("/var/log/syslog", 14_000_000_000), ("/var/log/daemon.log", 9_000_000_000)),
        services=base_facts("x").services + (ServiceState("lircd.service", True, True, "lirc"),),
        package_actions=(install,),
    )


def ctx_for(facts: HostFacts, peers: Sequence[HostFacts] = (), now: Optional[D] = None) -> CheckContext:
    """A context for one host of the story."""
    return CheckContext(Host(facts.host, groups=("pi3b",)), tuple(peers), now)


def findings(facts: HostFacts, peers: Sequence[HostFacts] = (), check_id: str = "") -> List[Finding]:
    """Run every registered check and keep those of ``check_id`` (all when empty)."""
    found = run_checks(facts, ctx_for(facts, peers))
    return [f for f in found if not check_id or f.check == check_id]
