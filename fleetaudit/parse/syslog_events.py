"""Recognise the syslog messages that matter: cron runs, clock steps, systemd unit lines, boots.

Each ``classify_*`` takes the message of one line (program already known) and returns a small tuple or None;
the caller attaches the timestamp. Patterns follow FORMATS.md sections 2, 3 and 8.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

CRON_IDENTS = frozenset(("CRON", "cron", "CROND", "crond", "/usr/sbin/cron"))
CLOCK_PROGRAMS = frozenset(("systemd-timesyncd", "fake-hwclock", "systemd-journald", "systemd"))
BOOT_PROGRAMS = frozenset(("kernel", "systemd", "rsyslogd"))
EVENT_PROGRAMS = CRON_IDENTS | CLOCK_PROGRAMS | BOOT_PROGRAMS  # any other program's lines carry no event
CMD_RE = re.compile(r"\((?P<user>[^)]*)\) CMD \((?:\[\d+\] )?(?P<cmd>.*)\)\s*$", re.S)  # -L 8 adds "[pid] "
CRON_OTHER_RE = re.compile(r"(pam_unix\(cron:session\): session (opened|closed)|\([^)]*\) (INFO|info|STARTUP|END|"
                           r"RELOAD|ORPHAN|WRONG|BAD|ERROR|MAIL|CMDOUT|CMDEND))")

UNIT_SUFFIX = r"[\w@:.\\-]+\.(?:service|timer|socket|target|mount|path|scope|slice|device|swap)"
SYSTEMD_PATTERNS: Tuple[Tuple[str, re.Pattern[str]], ...] = (
    ("starting", re.compile(rf"Starting (?:(?P<unit>{UNIT_SUFFIX}) - )?(?P<desc>.*?)\.\.\.$")),
    ("started", re.compile(rf"Started (?:(?P<unit>{UNIT_SUFFIX}) - )?(?P<desc>.*?)\.?$")),
    ("finished", re.compile(rf"Finished (?:(?P<unit>{UNIT_SUFFIX}) - )?(?P<desc>.*?)\.?$")),
    ("failed", re.compile(rf"Failed to start (?:(?P<unit>{UNIT_SUFFIX}) - )?(?P<desc>.*?)\.?$")),
    ("deactivated", re.compile(rf"(?P<unit>{UNIT_SUFFIX}): (?:Succeeded|Deactivated successfully)\.$")),
    ("failed", re.compile(rf"(?P<unit>{UNIT_SUFFIX}): Failed with result .*$")),
)
DESCRIPTION_UNITS: Dict[str, str] = {
    "Daily apt download activities": "apt-daily.service",
    "Daily apt upgrade and clean activities": "apt-daily-upgrade.service",
    "Rotate log files": "logrotate.service",
    "Daily man-db regeneration": "man-db.service",
    "Discard unused blocks on filesystems from /etc/fstab": "fstrim.service",
    "Discard unused blocks": "fstrim.service",
    "Daily Cleanup of Temporary Directories": "systemd-tmpfiles-clean.service",
    "Daily apt download activities timer": "apt-daily.timer",
    "Daily apt upgrade and clean activities timer": "apt-daily-upgrade.timer",
}

TIMESYNC_MARKERS = ("Synchronized to time server", "Initial synchronization to time server",
                    "Contacted time server", "Initial clock synchronization to",
                    "System clock time unset or jumped backwards", "restored from", "restoring from",
                    "Time has been changed")


def classify_cron(message: str) -> Optional[Tuple[str, str]]:
    """Return (user, command) for a CMD line; ('', '') for another recognised cron line; None otherwise.

    With ``cron -L 8`` (or more) the command is logged as ``[jobpid] command``; the ``[jobpid] `` is dropped.
    """
    m = CMD_RE.match(message)
    if m is not None:
        return m.group("user"), m.group("cmd")
    if CRON_OTHER_RE.match(message):
        return "", ""
    return None


def classify_systemd(message: str) -> Optional[Tuple[str, str]]:
    """Return (unit, action) for a systemd unit start/finish line; description forms mapped to units.

    Old-style lines name only the description: known ones (apt-daily, apt-daily-upgrade, logrotate, man-db,
    fstrim, tmpfiles-clean) map to their unit; any other description is kept as the ``unit`` text.
    """
    first = message[:12]
    if not (first.startswith(("Start", "Finish", "Failed")) or ": " in message):
        return None
    for action, pattern in SYSTEMD_PATTERNS:
        m = pattern.match(message)
        if m is None:
            continue
        unit = m.group("unit")
        if not unit:
            desc = m.group("desc")
            if desc.startswith(("Session ", "User Manager for", "User Runtime Directory")):
                return None  # logind sessions: one per login, not units anyone schedules
            unit = DESCRIPTION_UNITS.get(desc, desc)
        return unit, action
    return None


def is_clock_message(program: str, message: str) -> bool:
    """Tell whether a timesyncd, fake-hwclock or journald line reports a clock step."""
    if program == "systemd-timesyncd":
        return any(marker in message for marker in TIMESYNC_MARKERS)
    if program == "fake-hwclock":
        return bool(message.strip())
    if program == "systemd-journald":
        return "Time jumped backwards" in message
    return program == "systemd" and message.startswith("Time has been changed")


def clock_source(program: str) -> str:
    """Name the ClockEvent source for a program."""
    return {"systemd-timesyncd": "timesyncd", "fake-hwclock": "fake-hwclock",
            "systemd-journald": "journald"}.get(program, "systemd")


def boot_kind(program: str, pid: Optional[int], message: str) -> str:
    """Return 'kernel', 'systemd' or 'rsyslogd' when the line marks a boot, else ''."""
    if program == "kernel" and ("Booting Linux" in message or "] Linux version " in message
                                or message.startswith("Linux version ")):
        return "kernel"
    if program == "systemd" and pid == 1 and message.startswith("Startup finished in"):
        return "systemd"
    if program == "rsyslogd" and message.endswith("] start") and "origin software=\"rsyslogd\"" in message:
        return "rsyslogd"
    return ""
