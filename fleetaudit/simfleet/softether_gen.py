"""SoftEther VPN Server logs of a simulated Pi: ``server_log/vpn_YYYYMMDD.log`` and ``security_log/DEFAULT/sec_*.log``.

Lines are ``YYYY-MM-DD HH:MM:SS.mmm text`` with CRLF endings (FORMATS.md section 4).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Dict, List, NamedTuple, Sequence, Tuple

from fleetaudit.simfleet.story import PERIOD_DAYS, PERIOD_START

DASHES = "------------------------------------------------------"
MONITORING = ('Monitoring the directory "{dir}". If the amount of available free disk space becomes less than '
              "100.00 MBytes, the backup files for log files and configurations that are saved on the sub-directories "
              "of this directory will be automatically deleted in the order of oldest first. The amount of free disk "
              "space that determines when to start deletion can be modified by changing the "
              '"AutoDeleteCheckDiskFreeSpaceMin" item in the configuration file.')
AUTOSAVE = ("Starting the automatically saving background task. The interval between auto-saves is 300 seconds. "
            "You can change the interval by changing the parameter AutoSaveConfigSpan in the configuration file.")
IPSEC = "IPsec Module: The IPsec ver 2.0 (ISAKMP/IKEv1) processing module is"
# (milliseconds after the first line, text): the blocks captured from softether-vpnserver 5.01 (tests/data/softether).
START_BLOCK = (
    (0, DASHES), (0, "SoftEther VPN Server Developer Edition Version 5.01 Build 9674   (English)"),
    (0, "Compiled 2020/08/07 21:14:50 by pi at rasp3bprs"),
    (0, "Log Messages are written with UTF-8 Encoding Format."), (0, "The SoftEther VPN Server has been started."),
    (0, f"{IPSEC} started."), (0, "Loading the configuration file."), (31, MONITORING),
    (43, 'Virtual Hub "DEFAULT" has been started.'),
    (43, 'The MAC address of Virtual Hub "DEFAULT" is "00-AE-04-87-A2-F3".'),
    (43, '[HUB "DEFAULT"] The Virtual Hub is now online.'),
    (43, "TCP Listener (port 443) is starting."),
    (43, "TCP Listener (port 443) has started. Now listening for connection from client."),
    (43, "TCP Listener (port 5555) is starting."),
    (43, "TCP Listener (port 5555) has started. Now listening for connection from client."),
    (43, "The configuration file has been loaded."), (43, AUTOSAVE),
)
STOP_BLOCK = (
    (0, "The Server Engine shutdown processing has started."), (0, "All TCP listeners will be stopped."),
    (0, "TCP Listener (port 443) is stopping."), (386, "TCP Listener (port 443) has stopped."),
    (386, "TCP Listener (port 5555) is stopping."), (804, "TCP Listener (port 5555) has stopped."),
    (804, "All TCP listeners have been stopped."), (804, "Stopping all Virtual Hubs."),
    (804, '[HUB "DEFAULT"] The Virtual Hub is now offline.'), (804, 'Virtual Hub "DEFAULT" has been stopped.'),
    (804, "All Virtual Hubs have been stopped."), (814, f"{IPSEC} now terminating..."),
    (814, "IPsec Module: The number of still-alive IPsec SAs was 0."),
    (814, "IPsec Module: The number of still-alive IKE SAs was 0."),
    (814, "IPsec Module: The number of still-alive IPsec Clients was 0."), (814, f"{IPSEC} terminated."),
    (814, "Shutting down the Cedar communication module."), (814, "The Cedar communication module has been shut down."),
    (814, "The SoftEther VPN Server Engine has been successfully shutdown."), (814, DASHES),
)
LOG_DIR = "/usr/local/vpnserver"


class VpnLine(NamedTuple):
    """One SoftEther log line before formatting."""

    at: dt.datetime
    text: str


def render(line: VpnLine) -> str:
    """Return the line as SoftEther writes it: local time with milliseconds, CRLF."""
    return f"{line.at:%Y-%m-%d %H:%M:%S}.{line.at.microsecond // 1000:03d} {line.text}\r\n"


def _block(at: dt.datetime, block: Sequence[Tuple[int, str]]) -> List[VpnLine]:
    """Return a captured block of lines re-stamped from ``at``."""
    return [VpnLine(at + dt.timedelta(milliseconds=ms), text.format(dir=LOG_DIR)) for ms, text in block]


def start_lines(at: dt.datetime) -> List[VpnLine]:
    """Return the start-up block, as every start logs it (clean or after a crash)."""
    return _block(at, START_BLOCK)


def shutdown_lines(at: dt.datetime) -> List[VpnLine]:
    """Return a clean `vpnserver stop`: from "shutdown processing has started" to "successfully shutdown"."""
    return _block(at, STOP_BLOCK)


def session_lines(at: dt.datetime, cid: int, user: str, ip: str, port: int, minutes: int) -> List[VpnLine]:
    """Return one VPN client's connect, login, session and disconnect lines."""
    sid = f"SID-{user.upper()}-{cid % 97 + 1}"
    ms = dt.timedelta(milliseconds=1)
    return [
        VpnLine(at, f"On the TCP Listener (Port 443), a Client (IP address {ip}, Host name \"{ip}\", "
                    f"Port number {port}) has connected."),
        VpnLine(at + ms, f"For the client (IP address: {ip}, host name: \"{ip}\", port number: {port}), "
                         f"connection \"CID-{cid}\" has been created."),
        VpnLine(at + 30 * ms, f"SSL communication for connection \"CID-{cid}\" has been started. "
                              "The encryption algorithm name is \"AES128-SHA\"."),
        VpnLine(at + 80 * ms, f'[HUB "DEFAULT"] Connection "CID-{cid}": Successfully authenticated as user "{user}".'),
        VpnLine(at + 90 * ms, f'[HUB "DEFAULT"] Connection "CID-{cid}": The new session "{sid}" has been created. '
                              f'(IP address: {ip}, Port number: {port}, Physical underlying protocol: '
                              '"Standard TCP/IP (IPv4)")'),
        VpnLine(at + dt.timedelta(minutes=minutes), f'[HUB "DEFAULT"] Session "{sid}": The session has been '
                f"terminated. The statistical information is as follows: Total outgoing data size: "
                f"{minutes * 91234} bytes, Total incoming data size: {minutes * 20480} bytes."),
    ]


def failed_auth_lines(at: dt.datetime, cid: int, user: str, ip: str) -> List[VpnLine]:
    """Return a failed user login (server log copy with the hub prefix, then the disconnect)."""
    return [
        VpnLine(at, f'[HUB "DEFAULT"] Connection "CID-{cid}": User authentication failed. '
                    f'The user name that has been provided was "{user}", from {ip}.'),
        VpnLine(at + dt.timedelta(milliseconds=2),
                f'Connection "CID-{cid}" terminated by the cause "User authentication failed." (code 9).'),
    ]


def server_lines(seed: int, unclean_starts: Sequence[dt.datetime], clean_restarts: Sequence[dt.datetime],
                 end: dt.datetime) -> List[VpnLine]:
    """Return the server log for the period: daily sessions, failed logins, starts and restarts."""
    rng = random.Random(seed)
    boot = PERIOD_START - dt.timedelta(hours=20)          # the server was up before the period began
    out: List[VpnLine] = start_lines(boot) + session_lines(boot + dt.timedelta(hours=21, minutes=17), 3, "alice",
                                                           "192.168.1.23", 51234, 40)
    cid = 10
    for day in range(PERIOD_DAYS):
        base = PERIOD_START + dt.timedelta(days=day)
        for _ in range(rng.randint(2, 4)):
            cid += rng.randint(1, 5)
            at = base + dt.timedelta(seconds=rng.randint(7 * 3600, 22 * 3600), milliseconds=rng.randint(0, 999))
            out += session_lines(at, cid, rng.choice(("alice", "bob")), f"192.168.1.{rng.randint(20, 60)}",
                                 rng.randint(40000, 60000), rng.randint(5, 90))
        if rng.random() < 0.5:
            cid += 1
            at = base + dt.timedelta(seconds=rng.randint(0, 86399))
            out += failed_auth_lines(at, cid, rng.choice(("admin", "test", "vpn")), f"203.0.113.{rng.randint(2, 250)}")
    for at in unclean_starts:
        out += start_lines(at)
    for at in clean_restarts:
        out += shutdown_lines(at) + start_lines(at + dt.timedelta(seconds=4))
    return sorted((line for line in out if line.at < end), key=lambda line: line.at)


def security_lines(server: Sequence[VpnLine]) -> List[VpnLine]:
    """Return the DEFAULT hub's security log: its hub events, without the server-log hub prefix."""
    prefix = '[HUB "DEFAULT"] '
    return [VpnLine(line.at, line.text[len(prefix):]) for line in server if line.text.startswith(prefix)]


def by_day(lines: Sequence[VpnLine], prefix: str) -> Dict[str, str]:
    """Return file name -> content, one file per day (``prefix_YYYYMMDD.log``)."""
    files: Dict[str, List[str]] = {}
    for line in lines:
        files.setdefault(f"{prefix}_{line.at:%Y%m%d}.log", []).append(render(line))
    return {name: "".join(parts) for name, parts in files.items()}
