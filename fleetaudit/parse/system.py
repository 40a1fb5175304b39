"""Host identity and state: hostname, os-release, kernel, Pi model, uptime, clock, SoC temperature."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from fleetaudit.facts import SystemInfo
from fleetaudit.parse.stamps import parse_iso


def os_pretty_name(text: str) -> str:
    """Return PRETTY_NAME from os-release text (quotes removed), else ''."""
    for line in text.splitlines():
        key, _eq, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            return value.strip().strip("\"'")
    return ""


def parse_clock(text: str) -> Optional[dt.datetime]:
    """Parse ``date '+%Y-%m-%dT%H:%M:%S%z'`` output (aware)."""
    return parse_iso(text.strip())


def parse_uptime(text: str) -> Optional[float]:
    """Return seconds since boot from /proc/uptime."""
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None


def parse_millidegrees(text: str) -> Optional[float]:
    """Return degrees C from a thermal_zone temp file (millidegrees)."""
    try:
        return int(text.strip()) / 1000.0
    except ValueError:
        return None


def _boot_time(collected: Optional[dt.datetime], uptime: Optional[float]) -> Optional[dt.datetime]:
    """Return collected_at - uptime, or None when either is unknown or absurd."""
    if collected is None or uptime is None:
        return None
    try:
        return collected - dt.timedelta(seconds=uptime)
    except (OverflowError, ValueError):
        return None


def system_info(hostname: str = "", os_release: str = "", kernel: str = "", model: str = "", uptime: str = "",
                clock: str = "", soc_temp: str = "") -> SystemInfo:
    """Build SystemInfo from the raw texts of the identity sources ('' when a source is missing)."""
    collected = parse_clock(clock)
    up = parse_uptime(uptime)
    boot = _boot_time(collected, up)
    offset = collected.strftime("%z") if collected is not None else ""
    return SystemInfo(hostname.strip(), model.replace("\x00", "").strip(), os_pretty_name(os_release),
                      kernel.strip(), boot, up, parse_millidegrees(soc_temp), collected, offset)
