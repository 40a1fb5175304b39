"""auth.log: sshd logins, sudo commands and PAM sessions as ``AuthEvent``s (FORMATS.md section 6).

Kinds: accepted, failed, invalid_user, sudo, sudo_failed (a sudo line that says the user was refused),
session_opened, session_closed (``method`` holds the PAM service: sshd, sudo, cron, login...).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from fleetaudit.facts import AuthEvent, ReadStats
from fleetaudit.parse.lines import StatsBuilder, iter_blocks
from fleetaudit.parse.stamps import LineDater, TagSplitter, with_year, year_delta

MAX_EVENTS = 200_000
ACCEPTED_RE = re.compile(r"Accepted (?P<method>\S+) for (?P<user>.*?) from (?P<ip>\S+) port \d+")
FAILED_RE = re.compile(r"Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+) port \d+")
INVALID_RE = re.compile(r"Invalid user (?P<user>.*?) from (?P<ip>\S+)(?: port \d+)?\s*$")
SUDO_RE = re.compile(r"\s*(?P<user>\S+) : (?P<rest>.*?)COMMAND=(?P<cmd>.*)$", re.S)
PAM_RE = re.compile(r"pam_unix\((?P<service>[^:)]+):session\): session (?P<what>opened|closed) for user "
                    r"(?P<user>[^\s(]+)")
SUDO_REFUSED = ("incorrect password", "NOT in sudoers", "not allowed", "authentication failure")


@dataclass(frozen=True)
class AuthResult:
    """Events of one auth log source, with its read statistics."""

    events: Tuple[AuthEvent, ...]
    stats: ReadStats
    first: Optional[dt.datetime] = None   # first and last dated line (real year)
    last: Optional[dt.datetime] = None


def _ssh(message: str) -> Optional[Tuple[str, str, str, str, str]]:
    """Return (kind, user, ip, method, command) for an sshd login line."""
    m = ACCEPTED_RE.match(message)
    if m is not None:
        return "accepted", m.group("user"), m.group("ip"), m.group("method"), ""
    m = FAILED_RE.match(message)
    if m is not None:
        return "failed", m.group("user"), m.group("ip"), m.group("method"), ""
    m = INVALID_RE.match(message)
    if m is not None:
        return "invalid_user", m.group("user"), m.group("ip"), "", ""
    return None


def _sudo(message: str) -> Optional[Tuple[str, str, str, str, str]]:
    """Return (kind, user, '', '', command) for a sudo command line."""
    m = SUDO_RE.match(message)
    if m is None:
        return None
    refused = any(word in m.group("rest") for word in SUDO_REFUSED)
    return ("sudo_failed" if refused else "sudo"), m.group("user"), "", "", m.group("cmd").strip()


def _pam(message: str) -> Optional[Tuple[str, str, str, str, str]]:
    """Return (kind, user, '', service, '') for a pam_unix session line."""
    m = PAM_RE.search(message)
    if m is None:
        return None
    return "session_" + m.group("what"), m.group("user"), "", m.group("service"), ""


def classify_auth(program: str, message: str) -> Optional[Tuple[str, str, str, str, str]]:
    """Classify one auth.log message; None when it is not an event we keep."""
    if "pam_unix(" in message:
        return _pam(message)
    if program.startswith("sshd"):
        return _ssh(message)
    if program == "sudo":
        return _sudo(message)
    return None


class _AuthScan:
    """Mutable state of one pass over auth.log files: the events and the first/last dated line."""

    def __init__(self) -> None:
        """Start with no lines seen."""
        self.stats = StatsBuilder("auth")
        self.dater = LineDater()
        self.tags = TagSplitter()
        self.found: List[AuthEvent] = []
        self.last: Optional[dt.datetime] = None      # newest line without an offset (decides the year)
        self.first: Optional[dt.datetime] = None
        self.newest: Optional[dt.datetime] = None

    def block(self, texts: List[str]) -> None:
        """Classify a block of lines."""
        date, split, found, stats = self.dater.date, self.tags.split, self.found, self.stats
        for line in texts:
            dated = date(line)
            if dated is None:
                stats.bad_lines += bool(line.strip()) and not line.startswith("-- ")
                continue
            stamp = dated[0]
            if stamp.tzinfo is None:
                self.last = stamp
            if self.first is None:
                self.first = stamp
            self.newest = stamp
            _host, program, _pid, message = split(line[dated[1]:])
            hit = classify_auth(program, message)
            if hit is not None and len(found) < MAX_EVENTS:
                found.append(AuthEvent(stamp, hit[0], hit[1], hit[2], hit[3], hit[4], line))


def parse_authlog(files: Sequence[Tuple[str, str]], reference: Optional[dt.datetime] = None,
                  year_hints: Sequence[dt.datetime] = ()) -> AuthResult:
    """Read auth.log files (path, snapshot name), oldest first, into events; never raises."""
    scan = _AuthScan()
    for path, rel in files:
        for texts, _sizes in iter_blocks(path, rel, scan.stats):
            scan.block(texts)
    delta = year_delta(scan.last, reference, year_hints) if scan.last is not None else 0

    def fix(stamp: dt.datetime) -> dt.datetime:
        return with_year(stamp, delta) if stamp.tzinfo is None else stamp

    return AuthResult(tuple(_shift(scan.found, fix)), scan.stats.freeze(),
                      fix(scan.first) if scan.first is not None else None,
                      fix(scan.newest) if scan.newest is not None else None)


def _shift(events: List[AuthEvent], fix: Callable[[dt.datetime], dt.datetime]) -> List[AuthEvent]:
    """Apply the year fix to every event's time."""
    return [AuthEvent(fix(e.at), e.kind, e.user, e.source_ip, e.method, e.command, e.line) for e in events]
