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


SE = Path(__file__).parent / "data" / "softether"


@pytest.mark.skipif(not (SE / "server_log" / "vpn_20200914.log").exists(), reason="real capture not present")
def test_real_softether_capture() -> None:
    """Real softether-vpnserver 5.01: start, clean stop, start, worker killed (unclean restart), clean stop."""
    files = [(str(SE / "server_log" / "vpn_20200914.log"), "files/var/log/softether/server_log/vpn_20200914.log"),
             (str(SE / "security_log" / "DEFAULT" / "sec_20200914.log"),
              "files/var/log/softether/security_log/DEFAULT/sec_20200914.log")]
    result = parse_softether(files)
    assert result.stats.bad_lines == 0 and result.stats.undecodable_lines == 0
    kinds = [e.kind for e in result.events]
    assert kinds.count("start") == 3
    assert kinds.count("shutdown_begin") == kinds.count("shutdown_done") == 2
    assert kinds.count("admin_login_failed") == 2 and kinds.count("admin_login_ok") == 8
    failed = [e for e in result.events if e.kind == "admin_login_failed"]
    assert [e.connection for e in failed] == ["CID-5", "CID-7"]
    lifecycle = [k for k in kinds if k in ("start", "shutdown_begin", "shutdown_done")]
    # the third start follows the second with no shutdown between them: the killed worker
    assert lifecycle == ["start", "shutdown_begin", "shutdown_done", "start", "start", "shutdown_begin",
                         "shutdown_done"]
    starts = [e for e in result.events if e.kind == "start"]
    assert starts[2].at > starts[1].at and starts[2].lineno > starts[1].lineno
    assert starts[0].at.date() == dt.date(2020, 9, 14)
    assert "listener_stop" in kinds and "listener_start" in kinds
    assert result.first is not None and result.first <= starts[0].at
