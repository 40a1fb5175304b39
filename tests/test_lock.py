"""Tests for the run lock: a real second process holds it; a stale lock from a dead PID is taken over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetaudit.lock import LOCK_NAME, LockHeld, RunLock

REPO = str(Path(__file__).resolve().parent.parent)

HOLDER = """
import sys
from fleetaudit.lock import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_second_acquirer_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    """While another process holds the lock, acquiring raises LockHeld with its PID; after it exits, it works."""
    reports = tmp_path / "reports"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(reports)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld) as info, RunLock(str(reports)):
            pass
        assert info.value.pid == holder.pid
        assert f"PID {holder.pid}" in str(info.value) and str(reports / LOCK_NAME) in str(info.value)
    finally:
        holder.communicate("", timeout=30)
    with RunLock(str(reports)) as lock:
        assert lock.taken_over_from is None
        assert (reports / LOCK_NAME).read_text().strip() != ""


def test_stale_lock_from_dead_process_is_taken_over(tmp_path: Path) -> None:
    """A lock file naming a dead PID (no flock held) is taken over, and the dead PID is reported."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(f"{dead.pid}\n")
    with RunLock(str(tmp_path)) as lock:
        assert lock.taken_over_from == dead.pid
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    assert (tmp_path / LOCK_NAME).read_text() == ""


def test_holder_killed_releases_lock(tmp_path: Path) -> None:
    """A holder killed with SIGKILL leaves its PID in the file but no lock: the next run takes over."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    with RunLock(str(tmp_path)) as lock:
        assert lock.taken_over_from == holder.pid
