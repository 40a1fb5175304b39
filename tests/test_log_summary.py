"""Host-side syslog summary (source ``log_summary``): exact per-program volumes for a log over its cap.

A directory host and a simulated Pi over real SSH hold a syslog of tens of MB of one repeated lircd line with a
cap of 1 MB: the snapshot keeps at most the cap, yet the volumes, totals and ``logs.noisy_program`` counts
are exact. The awk the host runs is checked line for line against the workstation parser on generated logs
(both stamp layouts, damage, CRLF, a missing final newline, Dec->Jan rollovers, gzip rotations), and the
summary reader survives garbage.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetaudit.checks import CheckContext, run_checks
from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.collect.sources import log_summary_command
from fleetaudit.facts import HostFacts, ProgramVolume
from fleetaudit.model import Finding, Host, HostSnapshot, Inventory
from fleetaudit.parse import build_facts
from fleetaudit.parse.snapfiles import family
from fleetaudit.parse.summary import counted_volumes, match_files, parse_summary
from fleetaudit.parse.syslog import scan_syslog
from fleetaudit.simfleet import SimFleet
from fleetaudit.transport.base import ConnectOptions

MB = 1024 * 1024
CAP = 1 * MB
LIRCD = b"Sep 14 03:39:25 rasp3bprs1 lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found\n"
BIG_LINES = 40 * MB // len(LIRCD)
OTHERS = (b"Sep 14 03:39:26 rasp3bprs1 CRON[981]: (pi) CMD (/usr/local/bin/logtemp.sh)\n"
          b"Sep 14 03:40:01 rasp3bprs1 systemd[1]: Started Daily apt download activities.\n"
          b"Sep 14 03:41:00 rasp3bprs1 kernel: [12.345] usb 1-1.3: new device\n")
ROTATED = b"Sep 13 23:59:59 rasp3bprs1 lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found\n" * 5000


def write_big_log(log_dir: Path, append: bool = False) -> int:
    """Write ~40 MB of one lircd line plus a few other programs, and a gzipped rotation; return lircd lines."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "syslog", "ab" if append else "wb") as out:
        out.write(OTHERS)
        block = LIRCD * 10_000
        for _ in range(BIG_LINES // 10_000):
            out.write(block)
        out.write(OTHERS)
    (log_dir / "syslog.9.gz").write_bytes(gzip.compress(ROTATED))
    return (BIG_LINES // 10_000) * 10_000 + 5000


def noisy(facts: HostFacts, host: Host) -> List[Finding]:
    """Return the host's logs.noisy_program findings."""
    return [f for f in run_checks(facts, CheckContext(host)) if f.check == "logs.noisy_program"]


def counts(volumes: Sequence[ProgramVolume]) -> Dict[str, Tuple[int, int, object, object]]:
    """Return program -> (lines, bytes, first, last): everything but the sample (clipped differently)."""
    return {v.program: (v.lines, v.bytes, v.first, v.last) for v in volumes}


def collect_one(tmp_path: Path, host: Host, inventory_path: str, options: CollectOptions, run: str) -> HostSnapshot:
    """Collect one host into its own reports directory and return its snapshot."""
    inventory = Inventory(inventory_path, (host,), {})
    return collect(inventory, [host], str(tmp_path / run), options).hosts[0]


# --- a directory host --------------------------------------------------------------------------------------

def test_directory_host_counts_are_exact_and_the_pull_stays_under_the_cap(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("rasp3bprs1\n")
    written = write_big_log(root / "var/log")
    size = (root / "var/log/syslog").stat().st_size
    host = Host(name="rasp3bprs1", path=str(root), log_cap_bytes=CAP)
    snap = collect_one(tmp_path, host, str(tmp_path / "inventory.yaml"), CollectOptions(), "capped")
    syslog, summary = snap.source("syslog"), snap.source("log_summary")
    assert syslog is not None and syslog.truncated and summary is not None and summary.status == "ok", snap.sources
    assert (Path(snap.directory) / "files/var/log/syslog").stat().st_size == CAP < size
    assert syslog.bytes_moved + summary.bytes_moved < 2 * CAP
    facts = build_facts(snap, host)
    lircd = {v.program: v for v in facts.volumes}["lircd-0.10.1"]
    assert lircd.lines == written and lircd.bytes == BIG_LINES // 10_000 * 10_000 * len(LIRCD) + len(ROTATED)
    assert facts.log_total_lines == written + 6 and facts.log_total_bytes == size + len(ROTATED)
    assert facts.remote_summaries["syslog"].startswith(f"counted on the host: 2 files, {written + 6:,} lines")
    (finding,) = noisy(facts, host)
    assert finding.evidence["lines"] == written and finding.evidence["counted_on_host"] is True
    assert str(finding.evidence["first"]).endswith("-09-13T23:59:59")
    assert str(finding.evidence["last"]).endswith("-09-14T03:39:25")
    again = collect_one(tmp_path, host, str(tmp_path / "inventory.yaml"), CollectOptions(), "capped")
    second = build_facts(again, host)        # incremental: the tail is unchanged, the host counts again
    assert counts(second.volumes) == counts(facts.volumes) and second.remote_summaries == facts.remote_summaries
    full = build_facts(collect_one(tmp_path, replace(host, log_cap_bytes=64 * MB), str(tmp_path / "inventory.yaml"),
                                   CollectOptions(), "full"), replace(host, log_cap_bytes=64 * MB))
    assert counts(facts.volumes) == counts(full.volumes) and not full.remote_summaries
    assert (facts.log_total_lines, facts.log_total_bytes) == (full.log_total_lines, full.log_total_bytes)
    assert "counted_on_host" not in noisy(full, host)[0].evidence


def test_no_file_over_the_cap_means_no_host_count(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/syslog").write_bytes(LIRCD * 2000 + OTHERS)
    host = Host(name="pi", path=str(root), log_cap_bytes=CAP)
    snap = collect_one(tmp_path, host, str(tmp_path / "inventory.yaml"), CollectOptions(), "r")
    assert (Path(snap.directory) / "cmd/log_summary.txt").read_text().startswith("N\t")
    facts = build_facts(snap, host)
    assert not facts.remote_summaries and {v.program: v.lines for v in facts.volumes}["lircd-0.10.1"] == 2000


# --- over real SSH, the simulated fleet ------------------------------------------------------------------

@pytest.mark.fleet
def test_ssh_host_counts_are_exact(tmp_path: Path, make_fleet: Callable[..., SimFleet]) -> None:
    from fleetaudit.inventory import load_inventory
    from fleetaudit.simfleet import default_fleet

    spec = next(s for s in default_fleet() if s.kind == "healthy")
    fleet = make_fleet([spec])
    written = write_big_log(fleet.hosts[spec.name].tree / "var/log", append=True)
    host = replace(next(h for h in load_inventory(str(fleet.inventory_path)).hosts if h.name == spec.name),
                   log_cap_bytes=CAP)
    connect = ConnectOptions(user_known_hosts=None, allow_agent=False, look_for_keys=False, use_ssh_config=False,
                             trust_file=str(tmp_path / "known_hosts"))
    snap = collect_one(tmp_path, host, str(fleet.inventory_path), CollectOptions(connect=connect), "ssh")
    assert snap.status in ("ok", "partial"), snap.reason
    syslog, summary = snap.source("syslog"), snap.source("log_summary")
    assert syslog is not None and summary is not None and summary.status == "ok", (syslog, summary)
    assert syslog.bytes_moved <= CAP * len(syslog.files) and summary.bytes_moved < 64 * 1024
    facts = build_facts(snap, host)
    assert "syslog" in facts.remote_summaries, facts.read_stats
    lircd = {v.program: v for v in facts.volumes}["lircd-0.10.1"]
    assert lircd.lines == written
    (finding,) = noisy(facts, host)
    assert finding.evidence["lines"] == written and finding.evidence["counted_on_host"] is True
    assert str(finding.evidence["first"]).endswith("-09-13T23:59:59")


# --- the host's awk agrees with the workstation parser, line for line -------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ODD_STAMPS = ("Feb 30 00:00:01", "Foo  1 00:00:00", "Feb 29 10:00:00", "Jan 1  00:00:00", "Sep 14 24:00:00",
              "2024-02-30T00:00:00", "2023-02-29T01:01:01+01:00", "2024-13-01T00:00:00", "", "x" * 25,
              "Sep 14 03:39:2")
TAGS = ("lircd-0.10.1[480]:", "CRON[12]:", "kernel:", "systemd[1]:", "notag", "a[b]:", "x[12]", "p[]:", "c:d:",
        "bad[1]x:", "\u00fc[3]:", ":", "rsyslogd:  ", "[5]:")
MESSAGES = ("Error: No /sys/class/rc/ devices found", "(pi) CMD (x\ty)", "", " lead", "\u00fc" * 150, "x" * 400)


def _stamp(rnd: random.Random, t: dt.datetime) -> str:
    """Return a traditional, an RFC 3339 or a damaged stamp."""
    k = rnd.random()
    if k < 0.6:
        return f"{MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S}"
    if k < 0.8:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + rnd.choice(["", ".123456", ",5", "Z", "+09:00", "+0900", "+9:00"])
    return rnd.choice(ODD_STAMPS)


def _line(rnd: random.Random, t: dt.datetime) -> str:
    """Return one generated log line with its end of line."""
    if rnd.random() < 0.05:
        return rnd.choice(["", "   ", "garbage", "\t"]) + "\n"
    host = rnd.choice(["pi", "rasp3bprs1", "", "h\tx"])
    text = f"{_stamp(rnd, t)} {host} {rnd.choice(TAGS)} {rnd.choice(MESSAGES)}"
    return text + rnd.choice(["\n"] * 20 + ["\r\n"])


def _generated_log(root: Path, seed: int) -> None:
    """Write a syslog family of up to four files spanning a year end, some lines damaged."""
    rnd = random.Random(seed)
    log_dir = root / "var/log"
    log_dir.mkdir(parents=True)
    t = dt.datetime(2020, 12, 25)
    for name in ["syslog.3.gz", "syslog.2.gz", "syslog.1", "syslog"][rnd.randrange(4):]:
        lines: List[str] = []
        for _ in range(rnd.randrange(300)):
            t += dt.timedelta(seconds=rnd.choice([0, 1, 60, 3600, 86400]))
            lines.append(lines[-1] if lines and rnd.random() < 0.3 else _line(rnd, t))
        raw = "".join(lines).encode()
        raw = raw.rstrip(b"\n") if rnd.random() < 0.3 else raw
        (log_dir / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)


def run_summary(root: Path, cap: int = 0) -> str:
    """Run the host command against a directory tree, as the local transport does."""
    env = {"FA_ROOT": str(root), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    done = subprocess.run(["/bin/sh", "-c", log_summary_command(cap)], env=env, capture_output=True, check=True)
    assert not done.stderr, done.stderr
    return done.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("seed", range(40))
def test_host_awk_matches_the_workstation_parser(tmp_path: Path, seed: int) -> None:
    _generated_log(tmp_path, seed)
    log_dir = tmp_path / "var/log"
    refs = family([(str(p), f"files/var/log/{p.name}") for p in log_dir.iterdir()], "syslog")
    files, why = match_files(parse_summary(run_summary(tmp_path)), [rel for _p, rel in refs], {})
    assert files is not None, why
    reference = dt.datetime(2021, 3, 5)
    host, workstation = counted_volumes(files, reference), scan_syslog(refs, "syslog", reference)
    assert counts(host.volumes) == counts(workstation.volumes)
    assert (host.total_lines, host.total_bytes) == (workstation.total_lines, workstation.total_bytes)
    for vol in workstation.volumes:
        sample = {v.program: v.sample for v in host.volumes}[vol.program]
        assert vol.sample.replace("\t", " ").startswith(sample[:150].rstrip("\r")), vol.program


def test_files_are_summarised_oldest_first_and_symlinks_skipped(tmp_path: Path) -> None:
    log_dir = tmp_path / "var/log"
    log_dir.mkdir(parents=True)
    (log_dir / "syslog").write_bytes(LIRCD * 3)
    (log_dir / "syslog.1").write_bytes(LIRCD)
    (log_dir / "syslog.10.gz").write_bytes(gzip.compress(LIRCD))
    (log_dir / "syslog.2.gz").write_bytes(gzip.compress(LIRCD))
    (log_dir / "syslog.old").write_bytes(LIRCD)
    (log_dir / "syslog.3").symlink_to("/etc/passwd")
    (log_dir / "messages").write_bytes(LIRCD * 9)
    found = parse_summary(run_summary(tmp_path, cap=10))
    assert [f.path for f in found.files] == ["/var/log/syslog.old", "/var/log/syslog.10.gz", "/var/log/syslog.2.gz",
                                             "/var/log/syslog.1", "/var/log/syslog"]
    assert all(f.complete for f in found.files) and found.files[-1].lines == 3
    assert [sum(p.lines for p in f.programs) for f in found.files] == [1, 1, 1, 1, 3]    # same line across files
    assert parse_summary(run_summary(tmp_path, cap=10 * MB)).not_needed


# --- the summary reader on damage ----------------------------------------------------------------------------

GOOD = ("F\t/var/log/syslog\t100\t7\n"
        "P\tlircd\t2\t60\t0\tSep 14 03:39:25\t0\tSep 14 03:39:26\tError: x\n"
        "T\t3\t100\t2\t1\t0\t0\tSep 14 03:39:26\t0\n")


@pytest.mark.parametrize("text", ["", "\x00\xff", "F\n", "P\tx\n", "T\t1\n", "F\t/var/log/syslog\tx\ty\n",
                                  GOOD.replace("\t2\t60", "\t-\t1e9"), GOOD[:-20], "F\t\t\t\nT" + "\t" * 20,
                                  "N\tno file", GOOD.replace("Sep 14", "Zzz 99"), GOOD + "garbage\n" * 3])
def test_summary_reader_never_raises(text: str) -> None:
    found = parse_summary(text)
    files, _why = match_files(found, ["files/var/log/syslog"], {"/var/log/syslog": 7})
    if files is not None:
        assert counted_volumes(files, None).total_lines >= 0


def test_an_unfinished_or_rotated_count_is_not_used() -> None:
    found = parse_summary(GOOD)
    assert match_files(found, ["files/var/log/syslog"], {})[0] is not None
    assert match_files(parse_summary(GOOD[:-30]), ["files/var/log/syslog"], {})[0] is None
    assert match_files(found, ["files/var/log/syslog"], {"/var/log/syslog": 8})[0] is None
    assert match_files(found, ["files/var/log/syslog", "files/var/log/syslog.1"], {})[0] is None
    (vol,) = counted_volumes(match_files(found, ["files/var/log/syslog"], {})[0] or [],
                             dt.datetime(2020, 9, 20)).volumes
    assert (vol.lines, vol.bytes, vol.first, vol.last) == (2, 60, dt.datetime(2020, 9, 14, 3, 39, 25),
                                                           dt.datetime(2020, 9, 14, 3, 39, 26))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("FPTN\t\n0123456789-/ SepJan:x\x00\u00fc"), max_size=400))
def test_summary_reader_fuzz(text: str) -> None:
    found = parse_summary(text)
    rels = ["files" + f.path for f in found.files if f.path.startswith("/")]
    files, _why = match_files(found, rels, {})
    counted_volumes(files or [], dt.datetime(2020, 1, 1))


def test_build_facts_falls_back_to_the_tail_on_a_broken_count(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/syslog").write_bytes(LIRCD * 20_000)
    host = Host(name="pi", path=str(root), log_cap_bytes=CAP)
    snap = collect_one(tmp_path, host, str(tmp_path / "inventory.yaml"), CollectOptions(), "r")
    out = Path(snap.directory) / "cmd/log_summary.txt"
    out.write_text(out.read_text()[:-40])
    facts = build_facts(snap, host)
    assert not facts.remote_summaries and facts.volumes[0].lines == CAP // len(LIRCD)
    assert any("host-side count not used" in e for s in facts.read_stats for e in s.errors)
