"""SoftEther server/security logs (FORMATS.md sections 4 and 9)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional, Tuple

import pytest

from fleetaudit.parse.softether import classify, parse_softether, parse_stamp

EXAMPLE = "".join(line + "\r\n" for line in (
    "\ufeff2024-01-02 03:04:05.120 ------------------------------------------------------",
    "2024-01-02 03:04:05.121 SoftEther VPN Server Version 4.44 Build 9807   (English)",
    "2024-01-02 03:04:05.122 The SoftEther VPN Server has been started.",
    "2024-01-02 03:04:05.411 TCP Listener (port 443) has started. Now listening for connection from client.",
    '2024-01-02 09:15:22.611 Connection "CID-7" was unable to log in using administration mode.'
    " Access has been denied. (Error code 12)",
    '2024-01-02 09:15:30.020 Connection "CID-8" successfully logged in using administration mode.',
    '2024-01-02 09:20:01.100 [HUB "DEFAULT"] Connection "CID-9": User authentication failed.'
    ' The user name that has been provided was "alice", from 203.0.113.5.',
    '2024-01-02 09:21:00.200 Connection "CID-10": Successfully authenticated as user "alice".',
    "2024-01-03 00:10:00.000 All TCP listeners will be stopped.",
    "2024-01-03 00:10:00.100 The Server Engine shutdown processing has started.",
    "2024-01-03 00:10:01.000 The SoftEther VPN Server Engine has been successfully shutdown.",
))


@pytest.mark.parametrize("text,expected", [
    ("The SoftEther VPN Server has been started.", ("start", "", "", "", "")),
    ("The Server Engine shutdown processing has started.", ("shutdown_begin", "", "", "", "")),
    ("The SoftEther VPN Server Engine has been successfully shutdown.", ("shutdown_done", "", "", "", "")),
    ('Connection "CID-8" successfully logged in using administration mode.', ("admin_login_ok", "CID-8", "", "", "")),
    ('Connection "CID-7" was unable to log in using administration mode. Access has been denied. (Error code 12)',
     ("admin_login_failed", "CID-7", "", "", "")),
    ('[HUB "DEFAULT"] Connection "CID-9": User authentication failed. The user name that has been provided was '
     '"alice", from 203.0.113.5.', ("user_auth_failed", "CID-9", "alice", "203.0.113.5", "DEFAULT")),
    ('Connection "CID-9": User authentication failed. The user name that has been provided was "bob".',
     ("user_auth_failed", "CID-9", "bob", "", "")),
    ('Connection "CID-10": Successfully authenticated as user "alice".', ("user_auth_ok", "CID-10", "alice", "", "")),
    ("TCP Listener (port 443) has started. Now listening for connection from client.",
     ("listener_start", "", "", "", "")),
    ("All TCP listeners will be stopped.", ("listener_stop", "", "", "", "")),
    ("Loading the configuration file.", None),
])
def test_classify(text: str, expected: Optional[Tuple[str, str, str, str, str]]) -> None:
    assert classify(text, "") == expected


def test_stamp() -> None:
    assert parse_stamp("2024-01-02 03:04:05.120 x") == dt.datetime(2024, 1, 2, 3, 4, 5, 120000)
    assert parse_stamp("garbage") is None


def test_files_in_date_order_and_hub_from_dir(tmp_path: Path) -> None:
    (tmp_path / "vpn_20240102.log").write_bytes(EXAMPLE.encode())
    sec = tmp_path / "security_log" / "DEFAULT"
    sec.mkdir(parents=True)
    (sec / "sec_20240101.log").write_bytes(
        b'2024-01-01 10:00:00.000 Connection "CID-1": User authentication failed. The user name that has been '
        b'provided was "eve", from 198.51.100.7.\r\n')
    files = [(str(tmp_path / "vpn_20240102.log"), "files/x/server_log/vpn_20240102.log"),
             (str(sec / "sec_20240101.log"), "files/x/security_log/DEFAULT/sec_20240101.log")]
    result = parse_softether(files)
    assert result.files[0].endswith("sec_20240101.log")
    kinds = [e.kind for e in result.events]
    assert kinds == ["user_auth_failed", "start", "listener_start", "admin_login_failed", "admin_login_ok",
                     "user_auth_failed", "user_auth_ok", "listener_stop", "shutdown_begin", "shutdown_done"]
    assert result.events[0].hub == "DEFAULT" and result.events[0].source_ip == "198.51.100.7"
    assert result.events[1].lineno == 3 and result.stats.bad_lines == 0
