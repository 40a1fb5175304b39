"""Facts: what the parsers extract from one host's snapshot, the only input of the checks.

The parsers in ``fleetaudit/parse/`` are pure, streaming functions; ``fleetaudit.parse.build_facts``
reads a host's snapshot directory and returns one ``HostFacts``. Big logs are summarised on the way
(per-program counts, coverage), so a 2 GB syslog never becomes a 2 GB tuple.
Datetimes are host-local; aware (with offset) when the source says the offset, naive otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple


@dataclass(frozen=True)
class ReadStats:
    """What a parser could not read in one source; it counts and reports, it never raises."""

    source: str
    files: Tuple[str, ...] = ()
    lines: int = 0
    bad_lines: int = 0            # lines it could not parse
    undecodable_lines: int = 0    # invalid UTF-8 (decoded with replacement)
    nul_lines: int = 0
    oversized_lines: int = 0      # longer than the line cap; clipped
    truncated_gzip: Tuple[str, ...] = ()
    ended_mid_line: Tuple[str, ...] = ()   # files whose last line has no newline
    errors: Tuple[str, ...] = ()  # one human line each


@dataclass(frozen=True)
class LogLine:
    """One syslog/journal line, with where it came from."""

    at: dt.datetime
    host: str
    program: str                  # ident without [pid], e.g. "CRON", "lircd-0.10.1", "sshd"
    pid: Optional[int]
    message: str
    file: str                     # snapshot-relative file
    lineno: int
    size: int                     # bytes of the raw line incl. newline


@dataclass(frozen=True)
class ProgramVolume:
    """How much one program wrote to the system log."""

    program: str
    lines: int
    bytes: int
    first: Optional[dt.datetime]
    last: Optional[dt.datetime]
    sample: str


@dataclass(frozen=True)
class LogCoverage:
    """Which time span a log source covers, and where it was cut."""

    source: str                   # "syslog", "auth", "journal", "softether"
    first: Optional[dt.datetime]
    last: Optional[dt.datetime]
    files: Tuple[str, ...] = ()
    backwards: Tuple[Tuple[str, dt.datetime, dt.datetime], ...] = ()   # (file, from, to) where time went back
    silences: Tuple[Tuple[dt.datetime, dt.datetime], ...] = ()         # stretches with no line at all
    ended_mid_line: Tuple[str, ...] = ()
    truncated: bool = False       # snapshot pulled only the newest bytes (cap)


@dataclass(frozen=True)
class CronRun:
    """A `CRON[pid]: (user) CMD (command)` line."""

    at: dt.datetime
    user: str
    command: str
    pid: Optional[int]
    line: str


@dataclass(frozen=True)
class ClockEvent:
    """A clock step: timesyncd sync, fake-hwclock load, or time going backwards in a log."""

    at: dt.datetime
    delta_seconds: Optional[float]
    source: str                   # "timesyncd" | "fake-hwclock" | "log-backwards" | ...
    line: str


@dataclass(frozen=True)
class SystemdMessage:
    """A systemd unit start/finish line seen in the logs (timer firings, boots)."""

    at: dt.datetime
    unit: str                     # e.g. "apt-daily.service"
    action: str                   # "starting" | "started" | "finished" | "deactivated" | "failed"
    line: str


@dataclass(frozen=True)
class AuthEvent:
    """An auth.log event."""

    at: dt.datetime
    # kind: accepted | failed | invalid_user | sudo | sudo_failed | session_opened | session_closed
    kind: str
    user: str
    source_ip: str = ""
    method: str = ""              # password | publickey | ...
    command: str = ""             # sudo COMMAND=
    line: str = ""


@dataclass(frozen=True)
class VpnEvent:
    """A SoftEther server or security log line that matters."""

    at: dt.datetime
    kind: str                     # start | shutdown_begin | shutdown_done | admin_login_ok | admin_login_failed |
    #                               user_auth_failed | user_auth_ok | listener_start | listener_stop
    file: str
    lineno: int
    text: str
    connection: str = ""          # CID-N
    user: str = ""
    source_ip: str = ""
    hub: str = ""


@dataclass(frozen=True)
class Package:
    """An installed (or half-installed) dpkg package."""

    name: str
    version: str
    arch: str
    status: str                   # e.g. "install ok installed"
    source: str = ""


@dataclass(frozen=True)
class PackageAction:
    """An install/remove/upgrade/purge from apt history.log or dpkg.log."""

    at: dt.datetime
    action: str                   # install | remove | upgrade | purge | reinstall | downgrade
    package: str
    version: str
    origin: str                   # "apt-history" | "dpkg-log"
    commandline: str = ""
    requested_by: str = ""
    automatic: bool = False


@dataclass(frozen=True)
class CronJob:
    """One crontab entry and how Debian cron treats it after a time jump."""

    file: str
    lineno: int
    user: str
    schedule: str                 # the five fields or the @keyword, verbatim
    command: str
    wildcard: bool                # minute or hour field starts with '*' (or @hourly): not caught up
    catches_up: bool              # fixed-time: missed runs are replayed after a 6..180 min jump
    interval_minutes: Optional[int]   # regular period when the schedule has one (e.g. 5), else None
    minutes: Tuple[int, ...] = ()     # expanded minute set (empty for @reboot)
    hours: Tuple[int, ...] = ()


@dataclass(frozen=True)
class TimerUnit:
    """A systemd .timer unit."""

    name: str                     # "apt-daily.timer"
    on_calendar: Tuple[str, ...]
    randomized_delay_s: int = 0
    accuracy_s: int = 60
    persistent: bool = False
    enabled: Optional[bool] = None
    unit: str = ""                # the service it triggers
    path: str = ""


@dataclass(frozen=True)
class ServiceState:
    """A systemd service: enablement from the unit files, running from the process list or systemctl."""

    name: str                     # "lircd.service"
    enabled: Optional[bool]
    running: Optional[bool]
    package: str = ""             # owning package when known (dpkg -S / .list files)
    path: str = ""


@dataclass(frozen=True)
class Filesystem:
    """One `df -P` row joined with its `df -i` row."""

    filesystem: str
    mount: str
    size_bytes: int
    used_bytes: int
    avail_bytes: int
    use_percent: float
    inodes: Optional[int] = None
    inodes_used: Optional[int] = None
    inode_use_percent: Optional[float] = None


@dataclass(frozen=True)
class Process:
    """One process from the process list."""

    pid: int
    user: str
    command: str                  # comm / executable name
    args: str
    started: str = ""


@dataclass(frozen=True)
class LoggerRow:
    """One row of the periodic logger table."""

    rowid: int
    stamp: dt.datetime
    raw_stamp: str
    temperature: Optional[float] = None
    ambient: Optional[float] = None


@dataclass(frozen=True)
class LoggerData:
    """The logger DB as read from the snapshot; ``error`` set when it could not be read."""

    db_path: str
    table: Optional[str]
    timestamp_column: Optional[str]
    interval_minutes: Optional[int]
    rows: Tuple[LoggerRow, ...] = ()
    temperature_column: Optional[str] = None
    ambient_column: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class SystemInfo:
    """Identity and state of the host at collection time."""

    hostname: str = ""
    model: str = ""
    os_release: str = ""          # PRETTY_NAME
    kernel: str = ""
    boot_time: Optional[dt.datetime] = None
    uptime_s: Optional[float] = None
    soc_temp_c: Optional[float] = None
    collected_at: Optional[dt.datetime] = None   # host clock when collected
    utc_offset: str = ""          # "+0900" from `date +%z`


@dataclass(frozen=True)
class HostFacts:
    """Everything the checks may look at for one host."""

    host: str
    system: SystemInfo = field(default_factory=SystemInfo)
    source_status: Mapping[str, str] = field(default_factory=dict)    # source name -> status
    source_reason: Mapping[str, str] = field(default_factory=dict)
    read_stats: Tuple[ReadStats, ...] = ()
    coverage: Tuple[LogCoverage, ...] = ()
    volumes: Tuple[ProgramVolume, ...] = ()          # per program, from syslog/messages/journal
    log_total_lines: int = 0
    log_total_bytes: int = 0
    largest_log_files: Tuple[Tuple[str, int], ...] = ()   # (path, bytes) under /var/log, biggest first
    cron_runs: Tuple[CronRun, ...] = ()
    clock_events: Tuple[ClockEvent, ...] = ()
    systemd_messages: Tuple[SystemdMessage, ...] = ()
    boots: Tuple[dt.datetime, ...] = ()
    auth_events: Tuple[AuthEvent, ...] = ()
    vpn_events: Tuple[VpnEvent, ...] = ()
    vpn_files: Tuple[str, ...] = ()
    packages: Tuple[Package, ...] = ()
    package_actions: Tuple[PackageAction, ...] = ()
    cron_jobs: Tuple[CronJob, ...] = ()
    timers: Tuple[TimerUnit, ...] = ()
    services: Tuple[ServiceState, ...] = ()
    filesystems: Tuple[Filesystem, ...] = ()
    log_mount: str = ""                               # mount point holding /var/log
    processes: Tuple[Process, ...] = ()
    logger: Optional[LoggerData] = None
    remote_summaries: Mapping[str, str] = field(default_factory=dict)  # host-side summaries of capped logs
