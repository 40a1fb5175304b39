"""Smoke test: the benchmark script runs end to end on a 2-host fleet (no timing assertions)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleetaudit.simfleet import can_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.fleet
def test_benchmark_runs_on_two_hosts(tmp_path: Path) -> None:
    """Run benchmarks/run.py --hosts 2 with the small trees and no Ansible; check the table and the JSON."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    if not Path("/usr/bin/time").exists() or not shutil.which("tar"):
        pytest.skip("GNU time or tar missing")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/run.py"), "--hosts", "2", "--years", "0",
                           "--ansible-max", "0", "--workdir", str(tmp_path / "work"), "--output", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "a: OpenSSH + tar" in proc.stdout and "c: fleetaudit run (first)" in proc.stdout
    assert "e: fleetaudit collect (first)" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    cases = {r["case"][0]: r for r in data["rows"]}
    assert set(cases) == {"a", "c", "d", "e", "f"}
    assert all(r["hosts"] == 2 and r["bytes_moved"] > 0 for r in cases.values())
    assert set(data["fleet"]["ratios"]["2"]) == {"c/a", "d/c", "e/a", "f/e"}
    # machine-wide CPU (the simulated hosts' sshd/sh/tar included) covers at least the tool's own CPU
    assert all(r["extra"]["machine_cpu_s"] >= 0.5 * r["cpu_s"] for r in cases.values())
    assert "machine CPU s" in proc.stdout and "machine_cpu" in data["fleet"]["ratios"]["2"]["e/a"]
    assert data["machine"]["cores"]


@pytest.mark.fleet
def test_phase_timer_runs_on_two_hosts(tmp_path: Path) -> None:
    """Run benchmarks/phases.py on 2 small hosts: one JSON line for the fleet, then one per run, every step timed."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/phases.py"), "--hosts", "2", "--years", "0",
                           "--runs", "2", "--workdir", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["hosts"] == 2 and [r["run"] for r in lines[1:]] == [1, 2]
    steps = ("collect_and_analysis", "last_analyses_peer_checks_assembly", "reports", "history_record")
    for row in lines[1:]:
        assert all(row[k] >= 0 for k in steps) and row["total_s"] >= sum(row[k] for k in steps)
    assert len(list((tmp_path / "work" / "reports").glob("2*/report.html"))) == 2


def test_flood_truth_counts_the_line_cut_by_the_limit(tmp_path: Path) -> None:
    """The big-log truth: complete lircd lines, and records (the cut last line counted, as awk counts it)."""
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import trees
    finally:
        sys.path.remove(str(ROOT))
    block, per_block = trees.flood_block("h")
    line_len = len(block) // per_block
    path = tmp_path / "syslog"
    limit = line_len * (per_block + 3) + 7  # one whole block, 3 lines of the next, 7 bytes of a 4th
    truth = trees.fill_with_flood(path, "h", dt.datetime(2020, 9, 16), limit)
    data = path.read_bytes()
    assert truth["bytes"] == len(data) == limit
    assert truth["lircd_lines"] == data.count(b"\n") == per_block + 3
    assert truth["lircd_records"] == len(data.splitlines()) == per_block + 4
    awk = subprocess.run(["awk", "END { print NR }", str(path)], capture_output=True, text=True, check=True)
    assert int(awk.stdout) == truth["lircd_records"]
    exact = trees.fill_with_flood(tmp_path / "whole", "h", dt.datetime(2020, 9, 16), line_len * 5)
    assert exact["lircd_lines"] == exact["lircd_records"] == 5


def test_benchmark_refuses_a_used_workdir(tmp_path: Path) -> None:
    """A workdir holding an earlier run's files is refused before anything starts (exit 2, says why)."""
    (tmp_path / "n2").mkdir()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/run.py"), "--hosts", "2", "--ansible-max", "0",
                           "--workdir", str(tmp_path), "--output", str(tmp_path / "out.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not an empty directory" in proc.stderr and str(tmp_path) in proc.stderr
    assert not (tmp_path / "out.json").exists()
