"""Workstation-side faults with the real simulated fleet: a full or read-only reports filesystem, and Ctrl-C.

Each must give a clear error (exit 2 or 3, no traceback), leave the previous run's report and history
intact, never leave a half-written snapshot that looks complete, and release the run lock.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from reliability.compare import hosts, load_report
from reliability.faults import host_files, session_pids, signal_all, start_run, stop_host, wait_for
from reliability.runner import cli_argv, cli_env, edit_inventory, fleet_args, only_hosts, run_cli, run_dirs

from fleetaudit.lock import LOCK_NAME
from fleetaudit.simfleet import SimFleet, can_run, fleet_with_n_hosts, free_net, with_net
from fleetaudit.snapshot import read_run

pytestmark = [pytest.mark.fleet, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    """Yield two started healthy Pis."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    specs = with_net(fleet_with_n_hosts(2, incident_every=0), free_net(hosts=4))
    with SimFleet(tmp_path_factory.mktemp("wsfleet"), specs) as started:
        yield started


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """Yield a 16 MiB tmpfs of our own (unmounted afterwards)."""
    point = tmp_path / "fs"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=700", "fleetaudit-test-reports", str(point)],
                   check=True, timeout=30)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False, timeout=30)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kept(reports: Path) -> Dict[str, str]:
    """Return the hashes of what a failed run must not touch: the previous report, history, latest link."""
    latest = os.readlink(reports / "latest")
    return {"latest": latest, "report.json": _digest(reports / latest / "report.json"),
            "report.html": _digest(reports / latest / "report.html"), "history.db": _digest(reports / "history.db")}


def _fill(point: Path, leave: int) -> None:
    """Fill the filesystem until only ``leave`` bytes are free (ENOSPC reached on the way if leave is 0)."""
    st = os.statvfs(point)
    free = st.f_bavail * st.f_frsize
    with (point / "filler").open("wb") as handle:
        try:
            handle.write(b"\0" * max(free - leave, 0))
            handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _assert_intact(reports: Path, before: Dict[str, str]) -> None:
    """The previous run is still the latest, byte for byte; every visible run dir is complete."""
    assert _kept(reports) == before
    db = sqlite3.connect(f"file:{reports / 'history.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    for run in run_dirs(reports):
        assert (run / "manifest.json").exists(), f"{run} looks like a run but has no manifest"
        assert read_run(str(run)).complete
    assert _lock_free(reports)


def _lock_free(reports: Path) -> bool:
    """Return True when nobody holds the run lock (tested with flock, writing nothing: the disk may be full)."""
    path = reports / LOCK_NAME
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _first_run(fleet: SimFleet, reports: Path, home: Path) -> Dict[str, str]:
    inventory = edit_inventory(fleet.inventory_path, home.parent / "one.yaml", only_hosts(["pi01"]))
    proc = run_cli(fleet_args(inventory, reports), home)
    assert proc.returncode in (0, 1), proc.stderr
    return _kept(reports)


@pytest.mark.parametrize("leave", [0, 64 * 1024, 1024 * 1024])
def test_full_reports_filesystem(fleet: SimFleet, small_fs: Path, tmp_path: Path, leave: int) -> None:
    """The reports filesystem fills up during a run: a clear error, exit 2/3, the previous run intact."""
    reports = small_fs / "reports"
    before = _first_run(fleet, reports, tmp_path / "home")
    _fill(small_fs, leave)
    proc = run_cli(fleet_args(tmp_path / "one.yaml", reports, "--full"), tmp_path / "home")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (2, 3), proc.stdout + proc.stderr
    assert "No space left" in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3, proc.stderr
    _assert_intact(reports, before)


def test_read_only_reports_filesystem(fleet: SimFleet, small_fs: Path, tmp_path: Path) -> None:
    """The reports filesystem is read-only: a clear error, exit 3, nothing contacted, the previous run intact."""
    reports = small_fs / "reports"
    before = _first_run(fleet, reports, tmp_path / "home")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True, timeout=30)
    proc = run_cli(fleet_args(tmp_path / "one.yaml", reports), tmp_path / "home")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (2, 3), proc.stderr
    assert "Read-only" in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3, proc.stderr
    assert _kept(reports) == before
    for run in run_dirs(reports):
        assert read_run(str(run)).complete


def test_ctrl_c_during_a_run(fleet: SimFleet, tmp_path: Path) -> None:
    """SIGINT mid-run: the process ends, no snapshot looks complete, connections close, the lock is free."""
    reports = tmp_path / "reports"
    stopped: List[int] = stop_host(fleet.hosts["pi01"])          # keeps the run busy until its deadline
    proc = start_run(cli_argv(*fleet_args(fleet.inventory_path, reports)), cli_env(tmp_path / "home"), tmp_path)
    try:
        arrived = wait_for(lambda: proc.poll() is not None or any(not p.name.endswith(".part")
                                                                  for p in host_files(reports, "pi02")), 60)
        assert arrived and proc.poll() is None, proc.communicate(timeout=60)
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        signal_all(stopped, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode not in (0, 1), err
    assert "Traceback" not in err, err
    assert run_dirs(reports) == [], "an interrupted run must not publish a run directory"
    assert not (reports / "latest").exists()
    assert _lock_free(reports)
    assert wait_for(lambda: not session_pids(fleet.hosts["pi02"]), 30), "pi02's SSH session was left open"
    again = run_cli(fleet_args(fleet.inventory_path, reports), tmp_path / "home")
    assert again.returncode in (0, 1), again.stdout + again.stderr
    assert {h["status"] for h in hosts(load_report(reports)).values()} == {"ok"}
