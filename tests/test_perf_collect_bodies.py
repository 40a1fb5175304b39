"""The collect script's fast body paths keep the framing exact: one python3 for many files, one ``dd`` for few.

Through the local transport (the same script run by /bin/sh on a directory tree): a source with many files
(python3 batch), a source with one file (``dd``), an empty file and a binary file are stored byte for byte.
Each body writer on its own: a file that shrank, vanished or cannot be read still yields exactly n bytes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List

import pytest

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.collect.script import LIB
from fleetaudit.model import Host, Inventory


def _tree(root: Path) -> List[Path]:
    """Build a directory host with 12 SoftEther day files (one binary, one empty) and a small syslog."""
    logs = root / "usr/local/vpnserver/server_log"
    logs.mkdir(parents=True)
    made = []
    for day in range(12):
        path = logs / f"vpn_202409{day + 1:02d}.log"
        path.write_bytes(f"2024-09-{day + 1:02d} 00:00:00.000 line {day}\n".encode() * (day * 50))
        made.append(path)
    made[3].write_bytes(bytes(range(256)) * 40 + b"@FA\tEND\n")
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/syslog").write_text("Sep  1 00:00:01 pi CRON[1]: (pi) CMD (true)\n", encoding="utf-8")
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("pi\n", encoding="utf-8")
    return made + [root / "var/log/syslog"]


def test_many_and_few_files_are_stored_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "sdcard"
    made = _tree(root)
    host = Host(name="pi", address=None, path=str(root), softether_dirs=("/usr/local/vpnserver",))
    inventory = Inventory(path=str(tmp_path / "inventory.yaml"), hosts=(host,), groups={})
    run = collect(inventory, [host], str(tmp_path / "reports"), CollectOptions(host_deadline=60))
    snap = run.hosts[0]
    assert snap.status in ("ok", "partial"), snap.reason
    for path in made:
        stored = Path(snap.directory) / "files" / path.relative_to(root)
        assert stored.read_bytes() == path.read_bytes(), path
    softether = snap.source("softether")
    assert softether is not None and len(softether.files) == 12 and softether.status == "ok", softether


def _sh(script: str) -> bytes:
    """Run ``script`` after the collect script's library and return its stdout."""
    return subprocess.run(["/bin/sh", "-c", "FA_ROOT=\n" + LIB + script], check=True, capture_output=True,
                          env={"PATH": os.environ["PATH"]}).stdout


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_dd_body_pads_a_short_file_and_a_missing_one(tmp_path: Path, size: int) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    assert _sh(f"fa_body {small} {size}") == (b"abc" + bytes(max(size - 3, 0)))[:size]
    assert _sh(f"fa_body {tmp_path / 'gone'} {size}") == bytes(size)
    assert _sh(f"fa_body {tmp_path} {size}") == bytes(size)       # a read error (a directory)
    assert _sh(f"fa_body {small} 0") == b""


def test_python_batch_frames_exact_counts(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"0123456789")
    (tmp_path / "b").write_bytes(b"xy")
    queue = "".join(f"\ns\tok\t{n}\t{n}\t1\t2\t/{name}" for name, n in (("a", 4), ("b", 5), ("gone", 3), ("a", 0)))
    out = subprocess.run(["python3", "-S", "-c", _bodies(), str(tmp_path), queue], check=True,
                         capture_output=True).stdout
    assert out == (b"@FA\tF\ts\tok\t4\t4\t1\t2\t/a\n0123" + b"@FA\tF\ts\tok\t5\t5\t1\t2\t/b\nxy\0\0\0"
                   + b"@FA\tF\ts\tok\t3\t3\t1\t2\t/gone\n\0\0\0" + b"@FA\tF\ts\tok\t0\t0\t1\t2\t/a\n")


def _bodies() -> str:
    """Return the python3 program the script runs for a batch of bodies (as the shell sees it)."""
    return _sh('printf %s "$FA_BODIES"').decode("utf-8")
