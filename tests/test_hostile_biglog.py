"""A log partition full of one repeated line, 2 GiB of it: capped transfer, exact counts, no traceback.

The host is a directory tree (the local transport runs the same collect script as SSH does), so the test needs no
root. Memory is measured by the benchmark (benchmarks/BENCHMARKS.md), not asserted here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.inventory import load_inventory
from fleetaudit.pipeline import analyze
from fleetaudit.simfleet import build_tree, default_fleet

LINE = b"Sep 14 03:39:25 rasp3bprs2 lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found\n"
SIZE = 2 * 1024 ** 3
CAP = 32 * 1024 * 1024

pytestmark = pytest.mark.slow


def _fill(path: Path, size: int) -> int:
    """Append whole copies of LINE until the file has grown by ``size`` bytes; return the lines written."""
    per_block = (1024 * 1024) // len(LINE)
    block, lines = LINE * per_block, 0
    with path.open("ab") as handle:
        while lines * len(LINE) + len(block) <= size:
            handle.write(block)
            lines += per_block
    return lines


def test_two_gigabyte_log_is_capped_and_counted_exactly(tmp_path: Path) -> None:
    if shutil.disk_usage(tmp_path).free < 3 * SIZE:
        pytest.skip("needs 6 GiB free for a 2 GiB log")
    tree = tmp_path / "tree"
    build_tree(default_fleet()[1], tree)                     # the healthy twin: no lircd line of its own
    written = _fill(tree / "var/log/syslog", SIZE)
    (tmp_path / "inventory.yaml").write_text(f"hosts:\n  big:\n    path: {tree}\n    log_cap_bytes: {CAP}\n",
                                             encoding="utf-8")
    inventory = load_inventory(str(tmp_path / "inventory.yaml"))
    run = collect(inventory, inventory.hosts, str(tmp_path / "reports"), CollectOptions(command_timeout=300))
    (snap,) = run.hosts
    syslog = snap.source("syslog")
    assert snap.status == "ok", snap.reason
    assert syslog is not None and syslog.truncated                         # the cap is per file
    assert (Path(snap.directory) / "files/var/log/syslog").stat().st_size <= CAP
    assert sum(s.bytes_moved for s in snap.sources) <= CAP + 8 * 1024 * 1024   # the rest of the host is small
    report = analyze(run, inventory)
    noisy = [f for h in report.hosts for f in h.findings if f.check == "logs.noisy_program"]
    assert len(noisy) == 1
    evidence = noisy[0].evidence
    assert evidence["program"] == "lircd-0.10.1" and evidence["lines"] == written
    assert evidence["bytes"] == written * len(LINE) and evidence.get("counted_on_host") is True
