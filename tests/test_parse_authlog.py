"""auth.log parser: sshd, sudo and PAM lines (FORMATS.md section 6) and the real cron capture's auth.log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional, Tuple

import pytest

from fleetaudit.parse.authlog import classify_auth, parse_authlog

CATCHUP = Path(__file__).parent / "data" / "cron" / "catchup"


@pytest.mark.parametrize("program,message,expected", [
    ("sshd", "Accepted password for pi from 192.168.1.20 port 52144 ssh2",
     ("accepted", "pi", "192.168.1.20", "password", "")),
    ("sshd", "Accepted publickey for pi from 192.168.1.20 port 52144 ssh2: ED25519 SHA256:abc",
     ("accepted", "pi", "192.168.1.20", "publickey", "")),
    ("sshd", "Invalid user admin from 203.0.113.9 port 40022", ("invalid_user", "admin", "203.0.113.9", "", "")),
    ("sshd", "Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2",
     ("failed", "admin", "203.0.113.9", "password", "")),
    ("sshd", "Failed password for pi from 203.0.113.9 port 40030 ssh2",
     ("failed", "pi", "203.0.113.9", "password", "")),
    ("sshd", "pam_unix(sshd:session): session opened for user pi(uid=1000) by (uid=0)",
     ("session_opened", "pi", "", "sshd", "")),
    ("sudo", "      pi : TTY=pts/0 ; PWD=/home/pi ; USER=root ; COMMAND=/usr/bin/apt update",
     ("sudo", "pi", "", "", "/usr/bin/apt update")),
    ("sudo", "  mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
     ("sudo_failed", "mallory", "", "", "/bin/sh")),
    ("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by pi(uid=1000)",
     ("session_opened", "root", "", "sudo", "")),
    ("CRON", "pam_unix(cron:session): session closed for user pi", ("session_closed", "pi", "", "cron", "")),
    ("sshd", "Connection closed by 203.0.113.9 port 40022 [preauth]", None),
])
def test_classify(program: str, message: str, expected: Optional[Tuple[str, str, str, str, str]]) -> None:
    assert classify_auth(program, message) == expected


@pytest.mark.skipif(not (CATCHUP / "auth.log").exists(), reason="real capture not present")
def test_real_auth_capture() -> None:
    result = parse_authlog([(str(CATCHUP / "auth.log"), "auth.log")], dt.datetime(2026, 12, 3),
                           [dt.datetime(2020, 9, 1, 5, 30)])
    kinds = [e.kind for e in result.events]
    # 179 lines: 89 opened, 89 closed, and one real "pam_unix(cron:account): account root has password
    # changed in future" (the faked 2020 clock is before root's password date), which is not an event.
    assert len(kinds) == 178 and result.stats.bad_lines == 0 and result.stats.lines == 179
    assert kinds.count("session_opened") == kinds.count("session_closed") == 89
    assert {e.method for e in result.events} == {"cron"}
    assert result.events[0].at.replace(second=0) == dt.datetime(2020, 9, 1, 3, 35)


AUTH = Path(__file__).parent / "data" / "auth"


@pytest.mark.skipif(not (AUTH / "auth.log").exists(), reason="real capture not present")
def test_real_sshd_capture() -> None:
    """Real OpenSSH (Debian 12) with UsePAM: one good key, one invalid user, two bad passwords for pi."""
    result = parse_authlog([(str(AUTH / "auth.log"), "auth.log")], dt.datetime(2026, 12, 3),
                           [dt.datetime(2020, 9, 14, 9, 15)])
    got = [(e.kind, e.user, e.source_ip, e.method) for e in result.events]
    assert got == [("accepted", "pi", "127.0.0.1", "publickey"), ("session_opened", "pi", "", "sshd"),
                   ("session_closed", "pi", "", "sshd"), ("invalid_user", "admin", "127.0.0.1", ""),
                   ("failed", "admin", "127.0.0.1", "password"), ("failed", "pi", "127.0.0.1", "password"),
                   ("failed", "pi", "127.0.0.1", "password")]
    assert result.events[0].at.date() == dt.date(2020, 9, 14)
    assert result.stats.bad_lines == 0
