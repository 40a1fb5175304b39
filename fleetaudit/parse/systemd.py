"""systemd .timer files, enablement links, unit owners and running services (FORMATS.md section 3)."""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from fleetaudit.facts import Process, ServiceState, TimerUnit
from fleetaudit.parse.lines import StatsBuilder, iter_lines

SPAN_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")
UNITS: Dict[str, float] = {
    "": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800,
    "M": 2629800, "month": 2629800, "months": 2629800, "y": 31557600, "year": 31557600, "years": 31557600,
}
NO_SYSTEMD = ("System has not been booted with systemd", "Failed to connect to bus", "not been booted",
              "Host is down", "command not found")
PROCESS_ALIASES: Dict[str, Tuple[str, ...]] = {
    "ssh.service": ("sshd",), "rsyslog.service": ("rsyslogd",), "softether-vpnserver.service": ("vpnserver",),
    "lircd.service": ("lircd",), "systemd-timesyncd.service": ("systemd-timesyn",), "dbus.service": ("dbus-daemon",),
}


def parse_span(text: str) -> Optional[int]:
    """Parse a systemd time span ('12h', '60m', '1h 30min', '6000') into whole seconds; None when invalid."""
    text = text.strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for m in SPAN_RE.finditer(text):
        if text[pos:m.start()].strip() or m.group(2) not in UNITS:
            return None
        total += float(m.group(1)) * UNITS[m.group(2)]
        pos = m.end()
    return int(total) if pos and not text[pos:].strip() else None


def parse_timer(path: str, rel: str, stats: StatsBuilder) -> Optional[TimerUnit]:
    """Read one .timer unit's [Timer] section; None when it has none."""
    section, values = "", {}  # type: Tuple[str, Dict[str, List[str]]]
    for _n, line, _size in iter_lines(path, rel, stats):
        text = line.strip()
        if text.startswith("[") and text.endswith("]"):
            section = text[1:-1]
        elif section == "Timer" and "=" in text and not text.startswith(("#", ";")):
            key, _eq, value = text.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    if section == "" and not values:
        return None
    return _timer(os.path.basename(rel), rel, values)


def _timer(name: str, rel: str, values: Dict[str, List[str]]) -> TimerUnit:
    """Build the TimerUnit from [Timer] settings (an empty OnCalendar= resets the list)."""
    calendar: List[str] = []
    for value in values.get("OnCalendar", []):
        calendar = [] if not value else calendar + [value]

    def last(key: str) -> str:
        return values.get(key, [""])[-1]

    return TimerUnit(name, tuple(calendar), parse_span(last("RandomizedDelaySec")) or 0,
                     parse_span(last("AccuracySec")) or 60 if last("AccuracySec") else 60,
                     last("Persistent").lower() in ("true", "yes", "1", "on"), None,
                     last("Unit") or name[: -len(".timer")] + ".service", rel)


def parse_links(text: str) -> Tuple[Set[str], Set[str], Dict[str, str]]:
    """Return (enabled units, masked units, local unit file paths) from ``path<TAB>target`` lines."""
    enabled: Set[str] = set()
    masked: Set[str] = set()
    local: Dict[str, str] = {}
    for line in text.splitlines():
        path, _tab, target = line.partition("\t")
        parts = path.strip().split("/")
        unit = parts[-1]
        if len(parts) >= 2 and parts[-2].endswith((".wants", ".requires")):
            enabled.add(unit)
        elif target.strip() == "/dev/null":
            masked.add(unit)
        elif unit.endswith((".service", ".timer", ".socket")):
            local[unit] = path.strip()
    return enabled - masked, masked, local


def parse_owners(text: str) -> Dict[str, Tuple[str, str]]:
    """Map unit name -> (package, unit path) from ``/var/lib/dpkg/info/<pkg>[:arch].list:<path>`` lines."""
    owners: Dict[str, Tuple[str, str]] = {}
    for line in text.splitlines():
        listing, sep, path = line.partition(".list:")
        if sep and path.strip():
            package = os.path.basename(listing).split(":")[0]
            owners.setdefault(os.path.basename(path.strip()), (package, path.strip()))
    return owners


def parse_systemctl_units(text: str) -> Optional[Dict[str, bool]]:
    """Map service -> running from ``systemctl list-units --plain --no-legend``; None when systemd is not running."""
    if not text.strip() or any(marker in text for marker in NO_SYSTEMD):
        return None
    running: Dict[str, bool] = {}
    for line in text.splitlines():
        parts = line.lstrip("● *").split()
        if len(parts) >= 4 and parts[0].endswith(".service"):
            running[parts[0]] = parts[2] == "active" and parts[3] in ("running", "start", "reload")
    return running or None


def process_names(unit: str) -> Tuple[str, ...]:
    """Return the process names (comm, up to 15 chars) that mean ``unit`` runs."""
    stem = unit.rsplit(".", 1)[0].split("@")[0]
    names = {stem, stem + "d", stem.split("-")[-1]} | set(PROCESS_ALIASES.get(unit, ()))
    return tuple(sorted({n[:15] for n in names if n}))


def running_from_processes(units: Iterable[str], processes: Sequence[Process]) -> Dict[str, bool]:
    """Infer which units run from the process list (comm matches the unit's name stem or a known alias)."""
    comms = {p.command[:15] for p in processes} | {os.path.basename(p.args.split(" ")[0])[:15] for p in processes}
    return {unit: any(name in comms for name in process_names(unit)) for unit in units}


def build_services(links: Optional[str], owners: Optional[str], units: Optional[str],
                   processes: Sequence[Process]) -> Tuple[ServiceState, ...]:
    """Join enablement links, unit owners and running state into ``ServiceState``s.

    Listed: services enabled (directly, or through their enabled ``.socket``), masked, or running. ``running``
    comes from systemctl when systemd runs, else from the process list (a packaged unit whose process runs).
    """
    enabled, masked, local = parse_links(links or "")
    enabled |= {u[: -len(".socket")] + ".service" for u in enabled if u.endswith(".socket")}
    owned = parse_owners(owners or "")
    running = parse_systemctl_units(units or "")
    names = {u for u in enabled | masked if u.endswith(".service")}
    if running is not None:
        names |= {u for u, up in running.items() if up}
        states: Dict[str, bool] = {u: running.get(u, False) for u in names}
    else:
        candidates = names | {u for u in owned if u.endswith(".service") and "@" not in u}
        seen = running_from_processes(candidates, processes) if processes else {}
        names |= {u for u, up in seen.items() if up}
        states = {u: seen[u] for u in names if u in seen}
    return tuple(ServiceState(name, (name in enabled) if links is not None else None, states.get(name),
                              owned.get(name, ("", ""))[0], local.get(name) or owned.get(name, ("", ""))[1])
                 for name in sorted(names))


def with_enablement(timers: Sequence[TimerUnit], links: Optional[str]) -> Tuple[TimerUnit, ...]:
    """Set each timer's ``enabled`` from the links (None when the links are unknown); /etc overrides /lib."""
    enabled, _masked, _local = parse_links(links or "")
    by_name: Dict[str, TimerUnit] = {}
    for timer in timers:
        by_name[timer.name] = timer
    return tuple(TimerUnit(t.name, t.on_calendar, t.randomized_delay_s, t.accuracy_s, t.persistent,
                           (t.name in enabled) if links is not None else None, t.unit, t.path)
                 for t in by_name.values())
