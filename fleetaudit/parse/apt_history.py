"""apt ``history.log`` stanzas and ``dpkg.log`` lines into ``PackageAction``s (FORMATS.md section 6)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from fleetaudit.facts import PackageAction
from fleetaudit.parse.lines import StatsBuilder, iter_lines

MAX_ACTIONS = 200_000
LIST_TAGS = {"Install": "install", "Upgrade": "upgrade", "Remove": "remove", "Purge": "purge",
             "Reinstall": "reinstall", "Downgrade": "downgrade"}
ITEM_RE = re.compile(r"\s*(?P<name>[^\s,()]+) \((?P<inner>[^()]*)\)")
DPKG_ACTIONS = frozenset(("install", "upgrade", "remove", "purge"))


def parse_when(text: str) -> Optional[dt.datetime]:
    """Parse ``2024-01-02  03:04:05`` (one or more spaces) without strptime."""
    parts = text.split()
    if len(parts) != 2 or len(parts[0]) != 10 or len(parts[1]) != 8:
        return None
    d, t = parts
    try:
        return dt.datetime(int(d[0:4]), int(d[5:7]), int(d[8:10]), int(t[0:2]), int(t[3:5]), int(t[6:8]))
    except ValueError:
        return None


def parse_items(tag: str, value: str) -> List[Tuple[str, str, bool]]:
    """Split an Install/Upgrade/... list into (package, version, automatic); Upgrade keeps the new version."""
    found: List[Tuple[str, str, bool]] = []
    for m in ITEM_RE.finditer(value):
        inner = [p.strip() for p in m.group("inner").split(",")]
        automatic = "automatic" in inner[1:]
        versions = [p for p in inner if p != "automatic"]
        version = versions[-1] if tag in ("Upgrade", "Downgrade") and versions else (versions[0] if versions else "")
        found.append((m.group("name").split(":")[0], version, automatic))
    return found


@dataclass
class _Stanza:
    """One history.log stanza being read."""

    start: Optional[dt.datetime] = None
    commandline: str = ""
    requested_by: str = ""
    lists: List[Tuple[str, str]] = field(default_factory=list)

    def actions(self) -> List[PackageAction]:
        """Return the stanza's actions (none without a Start-Date)."""
        if self.start is None:
            return []
        return [PackageAction(self.start, LIST_TAGS[tag], name, version, "apt-history", self.commandline,
                              self.requested_by, automatic)
                for tag, value in self.lists for name, version, automatic in parse_items(tag, value)]


def _history_line(stanza: _Stanza, line: str, stats: StatsBuilder) -> None:
    """Apply one ``Tag: value`` line to the current stanza."""
    tag, sep, value = line.partition(": ")
    if not sep:
        stats.bad_lines += 1
    elif tag == "Start-Date":
        stanza.start = parse_when(value)
        stats.bad_lines += stanza.start is None
    elif tag == "Commandline":
        stanza.commandline = value.strip()
    elif tag == "Requested-By":
        stanza.requested_by = value.strip()
    elif tag in LIST_TAGS:
        stanza.lists.append((tag, value))


def parse_history(files: Sequence[Tuple[str, str]]) -> Tuple[Tuple[PackageAction, ...], StatsBuilder]:
    """Read history.log files (path, snapshot name), oldest first, into actions."""
    stats = StatsBuilder("apt_history")
    found: List[PackageAction] = []
    for path, rel in files:
        stanza = _Stanza()
        for _n, line, _size in iter_lines(path, rel, stats):
            if line.startswith("Start-Date:") and stanza.start is not None or not line.strip():
                found.extend(stanza.actions())
                stanza = _Stanza()
            if line.strip():
                _history_line(stanza, line, stats)
        found.extend(stanza.actions())
    return tuple(found[:MAX_ACTIONS]), stats


def dpkg_line(line: str) -> Optional[PackageAction]:
    """Parse one dpkg.log ``install|upgrade|remove|purge`` line; other lines give None."""
    parts = line.split()
    if len(parts) < 6 or parts[2] not in DPKG_ACTIONS:
        return None
    when = parse_when(parts[0] + " " + parts[1])
    if when is None:
        return None
    version = parts[5] if parts[5] != "<none>" else parts[4]
    return PackageAction(when, parts[2], parts[3].split(":")[0], "" if version == "<none>" else version, "dpkg-log")


def parse_dpkg_log(files: Sequence[Tuple[str, str]]) -> Tuple[Tuple[PackageAction, ...], StatsBuilder]:
    """Read dpkg.log files (path, snapshot name), oldest first, into actions."""
    stats = StatsBuilder("dpkg_log")
    found: List[PackageAction] = []
    for path, rel in files:
        for _n, line, _size in iter_lines(path, rel, stats):
            action = dpkg_line(line)
            if action is not None and len(found) < MAX_ACTIONS:
                found.append(action)
            elif action is None and line.strip() and parse_when(" ".join(line.split()[:2])) is None:
                stats.bad_lines += 1
    return tuple(found), stats
