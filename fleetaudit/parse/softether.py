"""SoftEther VPN server and security logs (FORMATS.md sections 4 and 9) into ``VpnEvent``s.

Lines are ``YYYY-MM-DD HH:MM:SS.mmm text`` (CRLF, UTF-8, maybe a BOM), local time without offset.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from fleetaudit.facts import ReadStats, VpnEvent
from fleetaudit.parse.lines import StatsBuilder, iter_lines

MAX_EVENTS = 200_000
HUB_RE = re.compile(r'\[HUB "(?P<hub>[^"]*)"\] ')
CID_RE = re.compile(r'Connection "(?P<cid>[^"]*)"')
USER_FAILED_RE = re.compile(r'User authentication failed\. The user name that has been provided was "(?P<user>[^"]*)"'
                            r'(?:, from (?P<ip>[^\s,]+?)\.?$)?')
USER_OK_RE = re.compile(r'Successfully authenticated as user "(?P<user>[^"]*)"')
IP_RE = re.compile(r"IP address:? (?P<ip>[0-9A-Fa-f.:]+)")
SIMPLE_KINDS: Tuple[Tuple[str, str], ...] = (
    ("The SoftEther VPN Server has been started.", "start"),
    ("The Server Engine shutdown processing has started.", "shutdown_begin"),
    ("has been successfully shutdown.", "shutdown_done"),
    ("successfully logged in using administration mode.", "admin_login_ok"),
    ("was unable to log in using administration mode.", "admin_login_failed"),
    ("has started. Now listening for connection", "listener_start"),
    ("All TCP listeners will be stopped.", "listener_stop"),
    ("has stopped.", "listener_stop"),
)
FILE_DATE_RE = re.compile(r"_(\d{8})(?:~\d+)?\.log$")


@dataclass(frozen=True)
class VpnResult:
    """Events and the files they came from, in date order."""

    events: Tuple[VpnEvent, ...]
    files: Tuple[str, ...]
    stats: ReadStats
    first: Optional[dt.datetime] = None   # first and last dated line of the server logs
    last: Optional[dt.datetime] = None


def parse_stamp(line: str) -> Optional[dt.datetime]:
    """Parse ``YYYY-MM-DD HH:MM:SS.mmm`` (or with commas, as in packet logs) at the start of a line."""
    if len(line) < 23 or line[4] != "-" or line[13] != ":" or line[19] not in ".,":
        return None
    try:
        return dt.datetime(int(line[0:4]), int(line[5:7]), int(line[8:10]), int(line[11:13]), int(line[14:16]),
                           int(line[17:19]), int(line[20:23]) * 1000)
    except ValueError:
        return None


def _kind(text: str) -> str:
    """Return the event kind of a message, or ''."""
    if "User authentication failed." in text and "user name that has been provided" in text:
        return "user_auth_failed"
    if "Successfully authenticated as user" in text:
        return "user_auth_ok"
    for needle, kind in SIMPLE_KINDS:
        if needle in text:
            return kind if kind != "listener_stop" or "Listener" in text or "listeners" in text else ""
    return ""


def classify(text: str, hub: str) -> Optional[Tuple[str, str, str, str, str]]:
    """Return (kind, connection, user, source ip, hub) for a message that matters, else None."""
    m = HUB_RE.match(text)
    if m is not None:
        hub, text = m.group("hub"), text[m.end():]
    kind = _kind(text)
    if not kind:
        return None
    cid = CID_RE.search(text)
    user, ip = "", ""
    um = USER_FAILED_RE.search(text) if kind == "user_auth_failed" else USER_OK_RE.search(text)
    if um is not None and kind.startswith("user_auth"):
        user = um.group("user")
        ip = (um.groupdict().get("ip") or "") if kind == "user_auth_failed" else ""
    if not ip:
        im = IP_RE.search(text)
        ip = im.group("ip").rstrip(".,") if im else ""
    return kind, cid.group("cid") if cid else "", user, ip, hub


def order_files(files: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Order log files by the date in their name (then name); server and security logs interleave."""
    def key(item: Tuple[str, str]) -> Tuple[str, str]:
        m = FILE_DATE_RE.search(item[1])
        return (m.group(1) if m else "", item[1])
    return sorted(files, key=key)


def _hub_of(rel: str) -> str:
    """Return the hub name of a security_log/<HUB>/sec_*.log file, else ''."""
    parts = rel.replace("\\", "/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "security_log" else ""


def parse_softether(files: Sequence[Tuple[str, str]]) -> VpnResult:
    """Read SoftEther server/security logs (path, snapshot name) into events; never raises."""
    stats = StatsBuilder("softether")
    events: List[VpnEvent] = []
    span: List[dt.datetime] = []
    ordered = order_files(files)
    for path, rel in ordered:
        hub = _hub_of(rel)
        for lineno, line, _size in iter_lines(path, rel, stats):
            line = line.lstrip("\ufeff")
            stamp = parse_stamp(line)
            if stamp is None:
                stats.bad_lines += bool(line.strip())
                continue
            if not hub:
                span = [span[0] if span else stamp, stamp]
            hit = classify(line[24:], hub)
            if hit is not None and len(events) < MAX_EVENTS:
                events.append(VpnEvent(stamp, hit[0], rel, lineno, line[24:], hit[1], hit[2], hit[3], hit[4]))
    return VpnResult(tuple(events), tuple(rel for _p, rel in ordered), stats.freeze(),
                     span[0] if span else None, span[-1] if span else None)


def is_softether_log(rel: str) -> bool:
    """Tell whether a snapshot path is a server or security log file."""
    name = os.path.basename(rel)
    return name.endswith(".log") and (name.startswith("vpn_") or name.startswith("sec_"))
