"""Declarative sources: what to pull from each host. Only the engine executes them.

Snapshot layout (a contract between collect and parse), under ``reports/<run-id>/<host>/``:
  files/<absolute remote path without the leading '/'>   for ``kind="files"`` (e.g. files/var/log/syslog.2.gz)
  cmd/<source name>.txt                                  stdout of ``kind="command"``
  cmd/<source name>.err                                  its stderr, when not empty
  logger/logger.db                                       the logger DB, a consistent SQLite copy (``kind="sqlite"``)
Commands are constants; the only per-host values (paths from the inventory) are inserted with shlex.quote.

Symlinks: the host never follows a symlink that a glob matched, nor a symlinked directory below a glob's fixed
part (``security_log/<HUB>`` being a link), so ``/var/log/syslog.9 -> /etc/shadow`` is not read. It is
reported as a note in the source's reason ("skipped symlink /var/log/syslog.9 -> /etc/shadow") and does not
change the source's status (a source that matched only symlinks is ``missing``): skipping it is the audit
working, not the host failing. The fixed part of a declared path is trusted (``/lib -> usr/lib`` on merged-usr
hosts, ``/proc/device-tree -> /sys/firmware/devicetree/base`` on a Pi); ``follow_links`` lets a fixed system
file that distributions ship as a symlink (``/etc/os-release``) be read. On a directory host every path must
also resolve inside the tree.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Tuple

from fleetaudit.model import Host

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class SourceSpec:
    """One thing to pull: remote file globs, a constant command, or the logger SQLite DB."""

    name: str
    kind: str                         # "files" | "command" | "sqlite"
    description: str
    paths: Tuple[str, ...] = ()       # remote globs for kind=files (shell glob syntax, absolute)
    command: str = ""                 # for kind=command: a constant POSIX sh command
    cap_bytes: int = 4 * MB           # per file for files (newest bytes kept), total for command
    optional: bool = True             # a missing optional source is status "missing", not a host failure
    root_only: bool = False           # use `sudo -n` when the host has sudo: true
    log: bool = False                 # a growing log: pulled newest-first up to the cap, incremental later
    first_match: bool = False         # paths are alternatives: only the first glob that matches is pulled
    follow_links: bool = False        # a matched path may itself be a symlink (only for fixed system files)


_BASE: Tuple[SourceSpec, ...] = (
    SourceSpec("hostname", "command", "host name", command="hostname", optional=False, cap_bytes=4 * KB),
    SourceSpec("os_release", "files", "OS release", paths=("/etc/os-release",), cap_bytes=64 * KB,
               follow_links=True),          # Debian ships /etc/os-release -> ../usr/lib/os-release
    SourceSpec("kernel", "command", "kernel", command="uname -srvm", cap_bytes=4 * KB),
    SourceSpec("model", "files", "Pi model", cap_bytes=4 * KB, first_match=True,
               paths=("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")),
    SourceSpec("uptime", "files", "uptime", paths=("/proc/uptime",), cap_bytes=4 * KB),
    SourceSpec("clock", "command", "host clock and UTC offset",
               command="date '+%Y-%m-%dT%H:%M:%S%z'", cap_bytes=4 * KB),
    SourceSpec("soc_temp", "files", "SoC temperature (millidegrees C)",
               paths=("/sys/class/thermal/thermal_zone0/temp",), cap_bytes=4 * KB),
    SourceSpec("syslog", "files", "system log with rotations",
               paths=("/var/log/syslog", "/var/log/syslog.*", "/var/log/messages", "/var/log/messages.*"),
               cap_bytes=32 * MB, log=True),
    SourceSpec("auth", "files", "auth.log with rotations", paths=("/var/log/auth.log", "/var/log/auth.log.*"),
               cap_bytes=16 * MB, root_only=True, log=True),
    SourceSpec("journal", "command", "journal, for hosts whose only log is journald",
               command="if [ ! -e /var/log/syslog ] && [ ! -e /var/log/messages ] && command -v journalctl >/dev/null;"
                       " then journalctl --no-pager -o short-iso-precise --since=-45d; fi",
               cap_bytes=32 * MB, root_only=True, log=True),
    SourceSpec("dpkg_status", "files", "dpkg package database", paths=("/var/lib/dpkg/status",),
               cap_bytes=16 * MB, optional=False),
    SourceSpec("apt_history", "files", "apt history", paths=("/var/log/apt/history.log", "/var/log/apt/history.log.*"),
               cap_bytes=8 * MB, log=True),
    SourceSpec("dpkg_log", "files", "dpkg log", paths=("/var/log/dpkg.log", "/var/log/dpkg.log.*"),
               cap_bytes=8 * MB, log=True),
    SourceSpec("crontabs", "files", "system and user crontabs",
               paths=("/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/*"), cap_bytes=1 * MB,
               root_only=True),
    SourceSpec("timer_units", "files", "systemd timer unit files",
               paths=("/lib/systemd/system/*.timer", "/usr/lib/systemd/system/*.timer", "/etc/systemd/system/*.timer"),
               cap_bytes=64 * KB),
    SourceSpec("unit_links", "command", "systemd enablement (wants/ symlinks) and local unit files",
               command="find /etc/systemd/system -mindepth 1 -maxdepth 2 \\( -type l -o -name '*.service' \\)"
                       " -printf '%p\\t%l\\n' 2>/dev/null; true", cap_bytes=1 * MB),
    SourceSpec("unit_owners", "command", "which package ships which systemd unit",
               command="grep -H -E '/systemd/system/[^/]+\\.(service|timer|socket)$' /var/lib/dpkg/info/*.list"
                       " 2>/dev/null; true", cap_bytes=1 * MB),
    SourceSpec("systemctl_timers", "command", "systemctl list-timers (when systemd runs)",
               command="systemctl list-timers --all --no-pager 2>&1", cap_bytes=256 * KB),
    SourceSpec("systemctl_units", "command", "running services (when systemd runs)",
               command="systemctl list-units --type=service --all --no-pager --plain --no-legend 2>&1",
               cap_bytes=1 * MB),
    SourceSpec("df", "command", "space on / and /var/log", command="df -P /var/log /", optional=False,
               cap_bytes=16 * KB),
    SourceSpec("df_inodes", "command", "inodes on / and /var/log", command="df -P -i /var/log /",
               cap_bytes=16 * KB),
    SourceSpec("log_files", "command", "every file under /var/log with its size",
               command="find /var/log -xdev -type f -printf '%s\\t%p\\n' 2>/dev/null; true", cap_bytes=2 * MB),
    SourceSpec("processes", "command", "running processes",
               command="ps -e -o pid=,user:32=,lstart=,comm=,args= | cut -c 1-1024", cap_bytes=2 * MB),
)


def softether_source(dirs: Tuple[str, ...]) -> SourceSpec:
    """Return the SoftEther log source for the host's configured directories."""
    globs = []
    for d in dirs:
        q = d.rstrip("/")
        globs += [f"{q}/server_log/*.log", f"{q}/security_log/*/*.log"]
    return SourceSpec("softether", "files", "SoftEther server and security logs", paths=tuple(globs),
                      cap_bytes=4 * MB, root_only=True, log=True)


def logger_source(db_path: str) -> SourceSpec:
    """Return the logger DB source for the host's configured path."""
    return SourceSpec("logger_db", "sqlite", "periodic logger SQLite DB", paths=(db_path,), cap_bytes=512 * MB)


def sources_for(host: Host) -> Tuple[SourceSpec, ...]:
    """Return every source to pull from ``host``, with the host's overrides applied."""
    specs = list(_BASE) + [softether_source(host.softether_dirs), logger_source(host.logger.db_path)]
    return tuple(replace(s, cap_bytes=host.log_cap_bytes) if s.log and s.name in ("syslog",) else s for s in specs)


def quoted(path: str) -> str:
    """Quote one path for the remote shell, keeping a trailing glob part unquoted."""
    head, sep, tail = path.rpartition("/")
    if any(c in tail for c in "*?["):
        return shlex.quote(head + sep) + tail
    return shlex.quote(path)
