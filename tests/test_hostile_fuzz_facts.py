"""Hypothesis over whole snapshot trees: random files in random source paths, random command outputs and a
mangled logger DB, through build_facts and every check; no exception and no check.error finding."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability.snapdir import GOOD_SYSLOG, analyse, good_db_bytes, host_dir, snapshot_of

from fleetaudit.model import SOURCE_STATUSES, SourceResult

EXAMPLES = 150
PATHS = ["/var/log/syslog", "/var/log/syslog.1", "/var/log/syslog.2.gz", "/var/log/auth.log", "/var/log/messages",
         "/var/lib/dpkg/status", "/var/log/apt/history.log", "/var/log/dpkg.log", "/etc/crontab", "/etc/cron.d/logtemp",
         "/var/spool/cron/crontabs/pi", "/lib/systemd/system/apt-daily.timer", "/etc/os-release", "/proc/uptime",
         "/usr/local/vpnserver/server_log/vpn_20200914.log", "/sys/class/thermal/thermal_zone0/temp",
         "/usr/local/vpnserver/security_log/DEFAULT/sec_20200914.log", "/proc/device-tree/model"]
COMMANDS = ["hostname", "kernel", "clock", "df", "df_inodes", "log_files", "processes", "unit_links", "unit_owners",
            "systemctl_units", "systemctl_timers", "journal"]
SEED_LINES = GOOD_SYSLOG.read_bytes().splitlines()[:40] + [
    b"Sep 14 04:39:01 raspberrypi CRON[1]: (pi) CMD (/usr/local/bin/logtemp.sh)", b"Package: lirc",
    b"Status: install ok installed", b"0,5,10 0-23 * * * pi /usr/local/bin/logtemp.sh", b"OnCalendar=*-*-* 6,18:00",
    b"2020-09-14 05:05:00.123 The SoftEther VPN Server has been started.", b"\xff\xfe\x00", b"\x1b[2J<script>",
    b"Filesystem 1024-blocks Used Available Capacity Mounted on", b"tmpfs 2048 2048 0 100% /var/log",
    b"2020-09-14T04:39:01.000000+02:00 raspberrypi CRON[2]: (pi) CMD (x)", b"Dec 31 23:59:59 pi x: y"]
LINES = st.one_of(st.sampled_from(SEED_LINES), st.binary(max_size=80))
BLOBS = st.lists(LINES, max_size=25).map(b"\n".join)
CONTENT = st.one_of(BLOBS, BLOBS.map(gzip.compress), BLOBS.map(lambda b: gzip.compress(b)[: len(b) // 3]))
DB = st.one_of(st.none(), st.just(good_db_bytes()), st.binary(max_size=200),
               st.integers(0, 8192).map(lambda n: good_db_bytes()[:n]))
STATUSES = st.dictionaries(st.sampled_from(["syslog", "auth", "logger_db", "df", "dpkg_status", "softether"]),
                           st.sampled_from(SOURCE_STATUSES), max_size=4)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.dictionaries(st.sampled_from(PATHS), CONTENT, max_size=10),
       cmds=st.dictionaries(st.sampled_from(COMMANDS), BLOBS.map(lambda b: b.decode("utf-8", "replace")), max_size=8),
       db=DB, statuses=STATUSES)
def test_build_facts_over_random_snapshot_trees(files: Dict[str, bytes], cmds: Dict[str, str], db: Optional[bytes],
                                                statuses: Dict[str, str]) -> None:
    """Any snapshot tree gives HostFacts and findings; a non-readable source status gives its finding."""
    root = Path(tempfile.mkdtemp(prefix="fa-fuzz-"))
    try:
        sources = tuple(SourceResult(name, status, reason="fuzz") for name, status in statuses.items())
        snap = snapshot_of(host_dir(root, files=files, cmds=cmds, db=db), sources=sources)
        facts, findings = analyse(snap)
        assert facts.host == "pi"
        flagged = {f.evidence.get("source") for f in findings if f.check == "source.unavailable"}
        for name in ("df", "dpkg_status"):
            if statuses.get(name) in ("denied", "timeout", "error"):
                assert name in flagged
    finally:
        shutil.rmtree(root)
