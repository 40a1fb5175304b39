"""Frozen dataclasses shared by every stage of the pipeline.

inventory -> transport -> collect -> snapshot -> parse (facts.py) -> checks -> timeline/compare -> report.
Every stage boundary passes one of these types; renderers see only a ``FleetReport``.
Python >= 3.9: keep ``from __future__ import annotations`` and no ``slots=``/``kw_only=``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional, Tuple

Severity = Literal["info", "warning", "critical"]
SEVERITIES: Tuple[str, ...] = ("info", "warning", "critical")

HostStatus = Literal[
    "ok", "partial", "unreachable", "auth_failed", "hostkey_unknown",
    "hostkey_changed", "timeout", "error",
]
HOST_STATUSES: Tuple[str, ...] = (
    "ok", "partial", "unreachable", "auth_failed", "hostkey_unknown",
    "hostkey_changed", "timeout", "error",
)

# Per-source status in a snapshot manifest.
#   ok         pulled whole
#   truncated  larger than its cap: the newest bytes up to the cap were pulled
#   unchanged  incremental run: nothing new since the last run (content reused)
#   missing    the path/command does not exist on this host (optional sources only are fine)
#   denied     permission denied (e.g. auth.log without sudo)
#   timeout    the command exceeded its per-command timeout
#   error      anything else; the reason text says what
SourceStatus = Literal["ok", "truncated", "unchanged", "missing", "denied", "timeout", "error"]
SOURCE_STATUSES: Tuple[str, ...] = ("ok", "truncated", "unchanged", "missing", "denied", "timeout", "error")


def severity_rank(severity: str) -> int:
    """Return the order of a severity: info < warning < critical."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Thresholds:
    """Check thresholds; every field is settable in the inventory (`defaults:` and per host)."""

    disk_warning_percent: float = 85.0
    disk_critical_percent: float = 95.0
    noisy_share_percent: float = 30.0
    noisy_min_lines: int = 1000
    recent_install_days: int = 45
    thermal_margin_c: float = 5.0
    thermal_window_minutes: int = 120
    late_minutes: int = 2
    failed_login_warning: int = 5
    incident_window_minutes: int = 90
    silence_minutes: int = 120


@dataclass(frozen=True)
class LoggerSpec:
    """Where the host's periodic logger writes; None means auto-detect."""

    db_path: str = "/var/logger/logging.db"
    table: Optional[str] = None
    timestamp_column: Optional[str] = None
    interval_minutes: Optional[int] = None


@dataclass(frozen=True)
class Host:
    """One inventory entry, fully resolved (defaults applied)."""

    name: str
    address: Optional[str] = None          # SSH target (hostname, IP, or ~/.ssh/config alias)
    port: int = 22
    user: Optional[str] = None
    identity_file: Optional[str] = None
    jump: Optional[str] = None             # "user@host:port" or an ssh-config alias
    sudo: bool = False                     # use `sudo -n` for root-only sources
    path: Optional[str] = None             # local transport: audit this directory tree instead of SSH
    groups: Tuple[str, ...] = ()
    tags: Tuple[str, ...] = ()
    logger: LoggerSpec = field(default_factory=LoggerSpec)
    softether_dirs: Tuple[str, ...] = ("/usr/local/vpnserver", "/var/log/softether")
    expected_services: Tuple[str, ...] = ()
    known_hosts: Optional[str] = None      # extra known_hosts file named in the inventory
    thresholds: Thresholds = field(default_factory=Thresholds)
    log_cap_bytes: int = 32 * 1024 * 1024  # per log source
    origin: str = ""                       # "inventory.yaml:12" where the host was declared


@dataclass(frozen=True)
class Inventory:
    """The parsed inventory file."""

    path: str
    hosts: Tuple[Host, ...]
    groups: Mapping[str, Tuple[str, ...]]  # group name -> host names
    known_hosts: Optional[str] = None


@dataclass(frozen=True)
class SourceResult:
    """What happened when one source was pulled from one host (one manifest entry)."""

    name: str
    status: str                            # one of SOURCE_STATUSES
    files: Tuple[str, ...] = ()            # paths relative to the host's snapshot dir
    bytes: int = 0                         # bytes stored in the snapshot for this source
    bytes_moved: int = 0                   # bytes that crossed the wire this run
    sha256: str = ""                       # over the stored files, in order
    duration_s: float = 0.0
    truncated: bool = False
    reason: str = ""                       # human text for non-ok status


@dataclass(frozen=True)
class HostSnapshot:
    """One host's part of a snapshot: status plus every source's result."""

    host: str
    status: str                            # one of HOST_STATUSES
    reason: str                            # one human line; "" when ok
    directory: str                         # absolute path reports/<run>/<host>
    sources: Tuple[SourceResult, ...] = ()
    started: str = ""                      # ISO 8601 UTC
    finished: str = ""
    duration_s: float = 0.0
    groups: Tuple[str, ...] = ()

    def source(self, name: str) -> Optional[SourceResult]:
        """Return the result for one source name, or None."""
        for result in self.sources:
            if result.name == name:
                return result
        return None


@dataclass(frozen=True)
class RunSnapshot:
    """A whole run's snapshot as read back from reports/<run-id>/manifest.json."""

    run_id: str
    directory: str
    inventory_path: str
    hosts: Tuple[HostSnapshot, ...]
    started: str
    finished: str
    complete: bool


@dataclass(frozen=True)
class Finding:
    """One anomaly on one host. ``check``/``severity``/``evidence`` keys are a public contract."""

    host: str
    check: str
    severity: str                          # one of SEVERITIES
    summary: str                           # one plain sentence a person can act on
    start: Optional[str] = None            # ISO 8601, host-local with offset when known
    end: Optional[str] = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    status: str = "new"                    # new | ongoing | resolved (set by history)
    fingerprint: str = ""                  # stable id: check + host + identifying evidence


@dataclass(frozen=True)
class Event:
    """One timestamped event on a host's timeline."""

    host: str
    at: dt.datetime
    kind: str                              # e.g. logger.row, logger.burst, cron.cmd, vpn.start, ssh.accepted
    source: str                            # source name it came from
    text: str
    value: Optional[float] = None          # e.g. a temperature


@dataclass(frozen=True)
class Incident:
    """Events and findings that cluster in time on one host, told as one sentence."""

    host: str
    start: str
    end: str
    story: str
    findings: Tuple[str, ...] = ()         # finding fingerprints
    timers: Tuple[str, ...] = ()           # timer units whose schedule could have fired inside it
    events: Tuple[Event, ...] = ()


@dataclass(frozen=True)
class TwinDiff:
    """One item that differs between hosts of the same group."""

    group: str
    # kind: package | service_enabled | service_running | timer | crontab | kernel | os | log_partition
    kind: str
    item: str
    values: Mapping[str, str]              # host -> value ("absent" when missing)
    odd_ones_out: Tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """The fleet matrix and the twin diffs."""

    hosts: Tuple[str, ...]
    checks: Tuple[str, ...]
    matrix: Mapping[str, Mapping[str, str]]  # check -> host -> worst severity | "" | "unreachable"
    twins: Tuple[TwinDiff, ...] = ()


@dataclass(frozen=True)
class HostReport:
    """Everything the reports show about one host."""

    name: str
    status: str
    reason: str
    groups: Tuple[str, ...]
    sources: Tuple[SourceResult, ...]
    findings: Tuple[Finding, ...]
    incidents: Tuple[Incident, ...]
    system: Mapping[str, str] = field(default_factory=dict)   # hostname, model, os, kernel, uptime...
    temperatures: Tuple[Tuple[str, float], ...] = ()          # (ISO time, °C) for the chart
    vpn_starts: Tuple[str, ...] = ()                          # ISO times of every VPN server start, for the chart
    status_note: str = ""                                     # e.g. "unreachable since 2 runs"


@dataclass(frozen=True)
class FleetReport:
    """The single input of every renderer."""

    schema: str
    run_id: str
    generated_at: str
    inventory_path: str
    hosts: Tuple[HostReport, ...]
    incidents: Tuple[Incident, ...]
    comparison: Comparison
    resolved: Tuple[Finding, ...] = ()     # findings of the previous run that are gone now
    fail_on: str = "warning"
    exit_status: int = 0
