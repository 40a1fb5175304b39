"""Build one host's ``HostFacts`` from its snapshot directory by calling every parser; never raises on bad data."""

from __future__ import annotations

import datetime as dt
import os
import zlib
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from fleetaudit.collect.state import STATE_FILE, parse_state
from fleetaudit.facts import (
    CronJob,
    HostFacts,
    LogCoverage,
    LoggerData,
    Package,
    PackageAction,
    ReadStats,
    ServiceState,
    SystemInfo,
    TimerUnit,
)
from fleetaudit.model import Host, HostSnapshot, LoggerSpec, Thresholds
from fleetaudit.parse import apt_history, authlog, crontab, df, dpkg, processes, softether, summary, systemd
from fleetaudit.parse.lines import StatsBuilder, read_text
from fleetaudit.parse.loggerdb import read_logger
from fleetaudit.parse.snapfiles import FileRef, cmd_text, family, file_text, source_files, under, walk_files
from fleetaudit.parse.stamps import naive, parse_iso
from fleetaudit.parse.syslog import SyslogResult, scan_syslog
from fleetaudit.parse.system import system_info

T = TypeVar("T")
FAILURES = (OSError, ValueError, OverflowError, EOFError, IndexError, KeyError, zlib.error, RecursionError)


@dataclass
class _Run:
    """Read statistics gathered while building; a failing parser becomes an error line, not an exception."""

    stats: List[ReadStats] = field(default_factory=list)

    def guard(self, source: str, fn: Callable[[], T], default: T) -> T:
        """Call ``fn``; on a failure record it under ``source`` and return ``default``."""
        try:
            return fn()
        except FAILURES as exc:
            self.stats.append(ReadStats(source, errors=(f"{type(exc).__name__}: {exc}",)))
            return default


def _system(snap: HostSnapshot) -> SystemInfo:
    """Read the identity sources."""
    return system_info(cmd_text(snap, "hostname") or "", file_text(snap, "/etc/os-release") or "",
                       cmd_text(snap, "kernel") or "", _model_text(snap),
                       file_text(snap, "/proc/uptime") or "", cmd_text(snap, "clock") or "",
                       file_text(snap, "/sys/class/thermal/thermal_zone0/temp") or "")


def _model_text(snap: HostSnapshot) -> str:
    """Return the Pi model from whichever device-tree file the host sent (/proc/device-tree preferred)."""
    return (file_text(snap, "/proc/device-tree/model") or file_text(snap, "/sys/firmware/devicetree/base/model")
            or "")


def _reference(snap: HostSnapshot, system: SystemInfo, files: Sequence[FileRef]) -> Optional[dt.datetime]:
    """Return the reference date for year inference: host clock, else snapshot time, else newest mtime."""
    if system.collected_at is not None:
        return system.collected_at
    for text in (snap.finished, snap.started):
        stamp = parse_iso(text) if text else None
        if stamp is not None:
            return stamp
    mtimes = [os.path.getmtime(path) for path, _rel in files if os.path.exists(path)]
    return dt.datetime.fromtimestamp(max(mtimes)) if mtimes else None


def _logger(snap: HostSnapshot, host: Optional[Host]) -> Optional[LoggerData]:
    """Read logger/logger.db when the snapshot has it."""
    path = os.path.join(snap.directory, "logger", "logger.db")
    spec = host.logger if host is not None else LoggerSpec()
    if not os.path.exists(path):
        return None
    return read_logger(path, spec)


def _softether_files(snap: HostSnapshot) -> List[FileRef]:
    """Return SoftEther server/security log files from the manifest or found under files/."""
    refs = source_files(snap, "softether", "", ())
    if not refs:
        refs = walk_files(snap, "")
    return [ref for ref in refs if softether.is_softether_log(ref[1])
            and ("server_log" in ref[1] or "security_log" in ref[1])]


def _syslog_files(snap: HostSnapshot) -> List[FileRef]:
    """Return the system log files the scan reads: the syslog family, else messages, oldest first."""
    refs = source_files(snap, "syslog", "/var/log", ("syslog*", "messages*"))
    return family(refs, "syslog") or family(refs, "messages")


def _syslog(snap: HostSnapshot, ref: Optional[dt.datetime], hints: Sequence[dt.datetime],
            th: Thresholds) -> Optional[SyslogResult]:
    """Scan syslog (else messages, else the journal command output)."""
    files = _syslog_files(snap)
    if files:
        return scan_syslog(files, "syslog", ref, hints, th.silence_minutes, _truncated(snap, "syslog"))
    journal = os.path.join(snap.directory, "cmd", "journal.txt")
    if os.path.exists(journal) and os.path.getsize(journal):
        return scan_syslog([(journal, "cmd/journal.txt")], "journal", ref, hints, th.silence_minutes,
                           _truncated(snap, "journal"))
    return None


def _counted(snap: HostSnapshot, run: _Run, ref: Optional[dt.datetime],
             hints: Sequence[dt.datetime]) -> Optional[summary.CountedVolumes]:
    """Return exact volumes from the host-side summary when it covers exactly the scanned syslog files."""
    text = cmd_text(snap, "log_summary")
    rels = [rel for _path, rel in _syslog_files(snap)]
    if not text or not rels:
        return None
    found = summary.parse_summary(text)
    if found.not_needed or not found.files:
        return None
    files, why = summary.match_files(found, rels, _pulled_inodes(snap))
    if files is None:
        status = snap.source("log_summary")
        detail = f" (source {status.status}: {status.reason})" if status and status.status != "ok" else ""
        run.stats.append(ReadStats("log_summary", errors=(f"host-side count not used: {why}{detail}; "
                                                          "volumes come from the pulled tail",)))
        return None
    return summary.counted_volumes(files, ref, hints)


def _pulled_inodes(snap: HostSnapshot) -> Dict[str, int]:
    """Return remote path -> inode of the syslog files as pulled, from the snapshot's collect state."""
    text = read_text(os.path.join(snap.directory, STATE_FILE))
    state = parse_state(text, snap.directory) if text else None
    return {f.path: f.inode for f in state.files.get("syslog", ())} if state is not None else {}


def _truncated(snap: HostSnapshot, name: str) -> bool:
    """Tell whether the snapshot kept only the newest bytes of a source."""
    status = snap.source(name)
    return bool(status and (status.truncated or status.status == "truncated"))


def _journal(snap: HostSnapshot) -> List[FileRef]:
    """Return the journal output as an auth source for hosts whose only log is journald."""
    path = os.path.join(snap.directory, "cmd", "journal.txt")
    return [(path, "cmd/journal.txt")] if os.path.isfile(path) and os.path.getsize(path) else []


def _timers(snap: HostSnapshot, links: Optional[str]) -> Tuple[Tuple[TimerUnit, ...], ReadStats]:
    """Read the .timer files (/lib before /etc, so local overrides win) with their enablement."""
    stats = StatsBuilder("timer_units")
    refs = source_files(snap, "timer_units", "/lib/systemd/system", ("*.timer",))
    if not snap.source("timer_units"):
        refs += under(snap, "/usr/lib/systemd/system", ("*.timer",)) + under(snap, "/etc/systemd/system", ("*.timer",))
    refs.sort(key=lambda r: (r[1].startswith("files/etc/"), r[1]))
    found = [systemd.parse_timer(path, rel, stats) for path, rel in refs]
    return systemd.with_enablement([t for t in found if t is not None], links), stats.freeze()


def build_facts(snap: HostSnapshot, host: Optional[Host]) -> HostFacts:
    """Return the facts of one host's snapshot; missing files give empty facts, bad data is counted."""
    run = _Run()
    th = host.thresholds if host is not None else Thresholds()
    system = run.guard("system", lambda: _system(snap), SystemInfo())
    logger = run.guard("logger_db", lambda: _logger(snap, host), None)
    vpn = run.guard("softether", lambda: softether.parse_softether(_softether_files(snap)), None)
    hints = [max(r.stamp for r in logger.rows)] if logger is not None and logger.rows else []
    hints += [vpn.last] if vpn is not None and vpn.last is not None else []
    logs_ref = _reference(snap, system, source_files(snap, "syslog", "/var/log", ("syslog*", "messages*")))
    sys_result = run.guard("syslog", lambda: _syslog(snap, logs_ref, hints, th), None)
    counted = run.guard("log_summary", lambda: _counted(snap, run, logs_ref, hints), None)
    auth_refs = family(source_files(snap, "auth", "/var/log", ("auth.log*",)), "auth.log") or _journal(snap)
    auth = run.guard("auth", lambda: authlog.parse_authlog(auth_refs, logs_ref, hints), None)
    facts = _assemble(snap, run, system, logger, vpn, sys_result, auth)
    return _with_counts(facts, counted)


def _with_counts(facts: HostFacts, counted: Optional[summary.CountedVolumes]) -> HostFacts:
    """Replace the tail's volumes and totals by the host's exact counts, saying so in remote_summaries."""
    if counted is None:
        return facts
    return replace(facts, volumes=counted.volumes, log_total_lines=counted.total_lines,
                   log_total_bytes=counted.total_bytes,
                   remote_summaries={**facts.remote_summaries, "syslog": counted.note})


def _assemble(snap: HostSnapshot, run: _Run, system: SystemInfo, logger: Optional[LoggerData],
              vpn: Optional[softether.VpnResult], logs: Optional[SyslogResult],
              auth: Optional[authlog.AuthResult]) -> HostFacts:
    """Read the remaining sources and put everything together."""
    no_packages: Tuple[Package, ...] = ()
    no_actions: Tuple[PackageAction, ...] = ()
    packages, pkg_stats = run.guard("dpkg_status", lambda: _packages(snap), (no_packages, StatsBuilder("dpkg_status")))
    actions = run.guard("apt_history", lambda: _actions(snap, run), no_actions)
    no_jobs: Tuple[CronJob, ...] = ()
    no_timers: Tuple[TimerUnit, ...] = ()
    no_services: Tuple[ServiceState, ...] = ()
    jobs, cron_stats = run.guard("crontabs", lambda: crontab.parse_crontabs(_crontab_files(snap)),
                                 (no_jobs, StatsBuilder("crontabs")))
    links = cmd_text(snap, "unit_links")
    timers, timer_stats = run.guard("timer_units", lambda: _timers(snap, links), (no_timers, ReadStats("timer_units")))
    procs, bad_ps = processes.parse_ps(cmd_text(snap, "processes") or "")
    services = run.guard("systemctl_units", lambda: systemd.build_services(
        links, cmd_text(snap, "unit_owners"), cmd_text(snap, "systemctl_units"), procs), no_services)
    df_text = cmd_text(snap, "df") or ""
    stats = [s for s in (vpn.stats if vpn else None, logs.stats if logs else None, auth.stats if auth else None,
                         pkg_stats.freeze(), cron_stats.freeze(), timer_stats) if s is not None]
    stats.append(ReadStats("processes", bad_lines=bad_ps))
    return HostFacts(
        host=snap.host, system=system,
        source_status={s.name: s.status for s in snap.sources}, source_reason={s.name: s.reason for s in snap.sources},
        read_stats=tuple(stats + run.stats), coverage=_coverage(snap, logs, auth, vpn),
        volumes=logs.volumes if logs else (), log_total_lines=logs.total_lines if logs else 0,
        log_total_bytes=logs.total_bytes if logs else 0,
        largest_log_files=df.parse_log_files(cmd_text(snap, "log_files") or ""),
        cron_runs=logs.cron_runs if logs else (), clock_events=logs.clock_events if logs else (),
        systemd_messages=logs.systemd_messages if logs else (), boots=logs.boots if logs else (),
        auth_events=auth.events if auth else (), vpn_events=vpn.events if vpn else (),
        vpn_files=vpn.files if vpn else (), packages=packages, package_actions=actions, cron_jobs=jobs,
        timers=timers, services=services, filesystems=df.parse_df(df_text, cmd_text(snap, "df_inodes") or ""),
        log_mount=df.log_mount(df_text), processes=procs, logger=logger)


def _packages(snap: HostSnapshot) -> Tuple[Tuple[Package, ...], StatsBuilder]:
    """Read /var/lib/dpkg/status (or dpkg-query output when that is what the snapshot has)."""
    path = os.path.join(snap.directory, "files", "var", "lib", "dpkg", "status")
    if os.path.exists(path):
        return dpkg.parse_status(path)
    query = cmd_text(snap, "dpkg_query")
    return (dpkg.parse_query(query) if query else ()), StatsBuilder("dpkg_status")


def _actions(snap: HostSnapshot, run: _Run) -> Tuple[PackageAction, ...]:
    """Read apt history and dpkg.log; history first, both oldest first, sorted by time."""
    hist = family(source_files(snap, "apt_history", "/var/log/apt", ("history.log*",)), "history.log")
    dlog = family(source_files(snap, "dpkg_log", "/var/log", ("dpkg.log*",)), "dpkg.log")
    a, sa = apt_history.parse_history(hist)
    b, sb = apt_history.parse_dpkg_log(dlog)
    run.stats.extend((sa.freeze(), sb.freeze()))
    return tuple(sorted(a + b, key=lambda x: naive(x.at)))


def _crontab_files(snap: HostSnapshot) -> List[FileRef]:
    """Return /etc/crontab, /etc/cron.d/* and per-user crontabs."""
    listed = source_files(snap, "crontabs", "/etc", ("crontab",))
    if snap.source("crontabs") is None:
        listed += under(snap, "/etc/cron.d", ("*",)) + under(snap, "/var/spool/cron/crontabs", ("*",))
    return listed


def _coverage(snap: HostSnapshot, logs: Optional[SyslogResult], auth: Optional[authlog.AuthResult],
              vpn: Optional[softether.VpnResult]) -> Tuple[LogCoverage, ...]:
    """Return the coverage of the system log (full), auth.log and the SoftEther server log (first/last only)."""
    found = [logs.coverage] if logs else []
    for name, result in (("auth", auth), ("softether", vpn)):
        if result is not None and result.stats.files:
            found.append(LogCoverage(name, result.first, result.last, result.stats.files,
                                     ended_mid_line=result.stats.ended_mid_line, truncated=_truncated(snap, name)))
    return tuple(found)
