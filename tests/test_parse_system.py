"""df, process list and system identity parsers; df/ps excerpts are real output from this machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fleetaudit.parse.df import log_mount, parse_df, parse_log_files
from fleetaudit.parse.processes import parse_ps
from fleetaudit.parse.system import system_info

PARSE = Path(__file__).parent / "data" / "parse"

PI_DF = """Filesystem     1024-blocks     Used Available Capacity Mounted on
tmpfs                51200    51200         0     100% /var/log
/dev/root         30363288  4186520  24877064      15% /
"""
PI_DFI = """Filesystem      Inodes  IUsed   IFree IUse% Mounted on
tmpfs           117763     37  117726      1% /var/log
/dev/root      1905856 142012 1763844      8% /
"""


def test_df_pi_full_log_partition() -> None:
    fss = {f.mount: f for f in parse_df(PI_DF, PI_DFI)}
    assert log_mount(PI_DF) == "/var/log"
    log = fss["/var/log"]
    assert (log.size_bytes, log.avail_bytes, log.use_percent) == (51200 * 1024, 0, 100.0)
    assert (log.inodes, log.inodes_used, log.inode_use_percent) == (117763, 37, 1.0)


def test_df_real_output_same_fs_twice() -> None:
    text = (PARSE / "df.txt").read_text()
    fss = parse_df(text, (PARSE / "df_inodes.txt").read_text())
    assert len(fss) == 1 and fss[0].mount == "/" and log_mount(text) == "/"
    assert fss[0].inodes is not None and fss[0].size_bytes % 1024 == 0


def test_log_files_biggest_first() -> None:
    text = "120\t/var/log/syslog.1\n52428800\t/var/log/syslog\nbad line\n7\t/var/log/auth.log\n"
    assert parse_log_files(text, 2) == (("/var/log/syslog", 52428800), ("/var/log/syslog.1", 120))


def test_ps_real_and_pi_lines() -> None:
    procs, bad = parse_ps((PARSE / "ps.txt").read_text())
    assert bad == 0 and procs[0].pid == 1 and procs[0].started.endswith("2026")
    pi = "  480 root                             Thu Sep  1 03:30:05 2020 lircd           /usr/sbin/lircd --nodaemon\n"
    procs, bad = parse_ps(pi + "garbage\n")
    assert bad == 1 and (procs[0].command, procs[0].args, procs[0].started) == (
        "lircd", "/usr/sbin/lircd --nodaemon", "Thu Sep 1 03:30:05 2020")


def test_system_info() -> None:
    info = system_info("raspberrypi\n", 'NAME="Raspbian"\nPRETTY_NAME="Raspbian GNU/Linux 10 (buster)"\n',
                       "Linux 5.10.63-v7+ #1459 SMP armv7l\n", "Raspberry Pi 3 Model B Plus Rev 1.3\x00",
                       "3600.50 7000.00\n", "2020-09-15T06:00:00+0900\n", "47236\n")
    assert info.hostname == "raspberrypi" and info.os_release == "Raspbian GNU/Linux 10 (buster)"
    assert info.model == "Raspberry Pi 3 Model B Plus Rev 1.3" and info.soc_temp_c == 47.236
    assert info.utc_offset == "+0900" and info.uptime_s == 3600.5
    assert info.boot_time == dt.datetime(2020, 9, 15, 4, 59, 59, 500000, dt.timezone(dt.timedelta(hours=9)))
    assert system_info(uptime="1e300", clock="2020-09-15T06:00:00+0000").boot_time is None
