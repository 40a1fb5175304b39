"""Hypothesis fuzzing of every parser with garbage: invalid UTF-8, NULs, long lines, truncated gzip, odd stanzas.

Each parser must return (never raise) and keep sane counts. ``pytest -s`` prints how many examples ran.
"""

from __future__ import annotations

import datetime as dt
import gzip
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetaudit.model import HostSnapshot, LoggerSpec
from fleetaudit.parse import (
    apt_history,
    authlog,
    build_facts,
    crontab,
    df,
    dpkg,
    processes,
    softether,
    syslog,
    system,
    systemd,
)
from fleetaudit.parse.lines import StatsBuilder
from fleetaudit.parse.loggerdb import read_logger

EXAMPLES = 300
COUNTS: Counter[str] = Counter()
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
REF = dt.datetime(2026, 12, 3)

SEEDS = [
    b"Sep  4 05:17:01 raspberrypi CRON[2391]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
    b"2024-01-02T03:04:01.123456+09:00 raspberrypi CRON[2345]: (pi) CMD (/usr/local/bin/logger.sh)",
    b"Dec 31 23:59:59 pi systemd[1]: Starting Daily apt download activities...",
    b"Jan  1 00:00:00 pi sshd[1]: Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2",
    b"Feb 29 12:00:00 pi sudo:       pi : TTY=pts/0 ; PWD=/home/pi ; USER=root ; COMMAND=/usr/bin/apt update",
    b"2024-01-02 03:04:05.122 The SoftEther VPN Server has been started.\r",
    b'2024-01-02 09:20:01.100 [HUB "DEFAULT"] Connection "CID-9": User authentication failed. The user name',
    b"Start-Date: 2024-01-02  03:04:05", b"Install: vim:armhf (2:9.0.1378-2, automatic), x (", b"Upgrade: a (1, 2)",
    b"2024-01-02 03:04:12 upgrade openssl:armhf 3.0.9-1 3.0.11-1~deb12u1", b"Package: lirc", b"Status: install ok",
    b"*/5 * * * * pi /x", b"@reboot pi /x", b"0-59/5,7-3/0 0-23 jan-dec mon-sun root x", b"[Timer]",
    b"OnCalendar=*-*-* 6,18:00", b"RandomizedDelaySec=1h 30min", b"AccuracySec=12 parsecs", b"-- Boot abc --",
    b"Filesystem 1024-blocks Used Available Capacity Mounted on", b"tmpfs 51200 51200 0 100% /var/log",
    b"  480 root Thu Sep  1 03:30:05 2020 lircd /usr/sbin/lircd --nodaemon", b"\xff\xfe\x00\x00", b"",
]

line = st.one_of(st.sampled_from(SEEDS), st.binary(max_size=200),
                 st.builds(lambda a, b: a[: len(a) // 2] + b, st.sampled_from(SEEDS), st.binary(max_size=40)),
                 st.just(b"x" * 70_000))
blob = st.lists(line, max_size=30).map(b"\n".join)
maybe_mangled = st.tuples(blob, st.sampled_from(["plain", "gzip", "cut-gzip", "no-eol"]))


def _materialise(data: bytes, how: str, path: Path) -> None:
    if how == "gzip":
        data = gzip.compress(data)
    elif how == "cut-gzip":
        packed = gzip.compress(data)
        data = packed[: max(2, len(packed) // 2)]
    elif how == "no-eol":
        data = data.rstrip(b"\n")
    path.write_bytes(data)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _sane(stats: StatsBuilder) -> None:
    assert stats.lines >= 0 and stats.bad_lines <= stats.lines
    assert stats.nul_lines <= stats.lines and stats.undecodable_lines <= stats.lines


@FUZZ
@given(files=st.lists(maybe_mangled, min_size=1, max_size=3))
def test_fuzz_syslog_and_auth(workdir: Path, files: List[tuple[bytes, str]]) -> None:
    COUNTS["syslog+auth"] += 1
    refs = []
    for i, (data, how) in enumerate(files):
        path = workdir / f"syslog.{i}"
        _materialise(data, how, path)
        refs.append((str(path), path.name))
    result = syslog.scan_syslog(refs, reference=REF, year_hints=[dt.datetime(2020, 9, 1)])
    assert result.stats.bad_lines <= result.stats.lines and result.total_lines <= result.stats.lines
    assert sum(v.lines for v in result.volumes) == result.total_lines
    auth = authlog.parse_authlog(refs, REF)
    assert len(auth.events) <= auth.stats.lines


@FUZZ
@given(data=maybe_mangled)
def test_fuzz_softether(workdir: Path, data: tuple[bytes, str]) -> None:
    COUNTS["softether"] += 1
    sec = workdir / "security_log" / "HUB"
    sec.mkdir(parents=True, exist_ok=True)
    _materialise(data[0], data[1], sec / "sec_20240101.log")
    result = softether.parse_softether([(str(sec / "sec_20240101.log"), "security_log/HUB/sec_20240101.log")])
    assert len(result.events) <= result.stats.lines


@FUZZ
@given(data=maybe_mangled)
def test_fuzz_packages(workdir: Path, data: tuple[bytes, str]) -> None:
    COUNTS["dpkg+apt"] += 1
    path = workdir / "pkg"
    _materialise(data[0], data[1], path)
    packages, stats = dpkg.parse_status(str(path))
    _sane(stats)
    hist, hstats = apt_history.parse_history([(str(path), "history.log")])
    log, lstats = apt_history.parse_dpkg_log([(str(path), "dpkg.log")])
    assert len(log) <= lstats.lines
    text = data[0].decode("utf-8", "replace")
    assert len(dpkg.parse_query(text)) <= text.count("\t")


@FUZZ
@given(data=maybe_mangled)
def test_fuzz_crontab_and_timer(workdir: Path, data: tuple[bytes, str]) -> None:
    COUNTS["crontab+timer"] += 1
    path = workdir / "crontabs"
    path.mkdir(exist_ok=True)
    _materialise(data[0], data[1], path / "pi")
    jobs, stats = crontab.parse_crontabs([(str(path / "pi"), "crontabs/pi")])
    _sane(stats)
    assert all(j.catches_up == (not j.wildcard and j.schedule != "@reboot") for j in jobs)
    timer_stats = StatsBuilder("t")
    systemd.parse_timer(str(path / "pi"), "x.timer", timer_stats)
    _sane(timer_stats)


@FUZZ
@given(text=st.one_of(blob.map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=500)))
def test_fuzz_text_parsers(text: str) -> None:
    COUNTS["text"] += 1
    fss = df.parse_df(text, text)
    assert all(f.size_bytes >= 0 for f in fss)
    df.log_mount(text)
    df.parse_log_files(text)
    procs, bad = processes.parse_ps(text)
    assert len(procs) + bad <= len(text.splitlines())
    systemd.build_services(text, text, text, procs)
    systemd.parse_span(text)
    system.system_info(text, text, text, text, text, text, text)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=3000), cut=st.integers(min_value=0, max_value=8192))
def test_fuzz_loggerdb(workdir: Path, data: bytes, cut: int) -> None:
    COUNTS["loggerdb"] += 1
    good = workdir / "good.db"
    if not good.exists():
        db = sqlite3.connect(good)
        db.execute("CREATE TABLE temperatures(timestamp TEXT, temperature REAL)")
        db.executemany("INSERT INTO temperatures VALUES (?, ?)", [(f"2020-09-01 00:{m:02d}", 47.2) for m in range(60)])
        db.commit()
        db.close()
    bad = workdir / "bad.db"
    bad.write_bytes(good.read_bytes()[:cut] + data)
    for spec in (None, LoggerSpec(table="temperatures", timestamp_column="timestamp")):
        result = read_logger(str(bad), spec)
        assert result.error is not None or result.table is not None


SNAPSHOT_FILES = ("files/var/log/syslog", "files/var/log/syslog.1.gz", "files/var/log/auth.log",
                  "files/var/lib/dpkg/status", "files/var/log/apt/history.log", "files/var/log/dpkg.log",
                  "files/etc/crontab", "files/lib/systemd/system/x.timer", "logger/logger.db",
                  "files/var/log/softether/server_log/vpn_20200914.log", "cmd/df.txt", "cmd/df_inodes.txt",
                  "cmd/processes.txt", "cmd/unit_links.txt", "cmd/systemctl_units.txt", "cmd/clock.txt",
                  "files/proc/uptime", "cmd/log_files.txt", "cmd/journal.txt")


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(contents=st.lists(maybe_mangled, min_size=len(SNAPSHOT_FILES), max_size=len(SNAPSHOT_FILES)))
def test_fuzz_build_facts(contents: List[tuple[bytes, str]]) -> None:
    COUNTS["build_facts"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        for rel, (data, how) in zip(SNAPSHOT_FILES, contents):
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            _materialise(data, how, path)
        facts = build_facts(HostSnapshot("fuzz", "ok", "", tmp), None)
    assert facts.host == "fuzz"
    assert all(s.bad_lines <= s.lines or s.lines == 0 for s in facts.read_stats)


def test_zz_report_counts() -> None:
    """Print how many examples each fuzz test ran (visible with ``pytest -s``)."""
    print(f"\nfuzz examples: {dict(COUNTS)} total={sum(COUNTS.values())}")
    assert all(n > 0 for n in COUNTS.values())
