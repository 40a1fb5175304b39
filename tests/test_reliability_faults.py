"""Faults against the real simulated fleet: each faulty host ends with the right status, the others complete.

A module fleet of three healthy Pis (pi01 is the victim, with a 30 MB rotated syslog to widen the window
of a mid-transfer fault). A clean baseline run is taken first; after each fault the other hosts' status,
per-source results and findings must equal the baseline exactly.
"""

from __future__ import annotations

import gzip
import signal
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from reliability.compare import HostView, hosts, load_report, views
from reliability.faults import (
    grow_log,
    host_files,
    power_off,
    power_on,
    reset_connections,
    signal_all,
    start_run,
    stop_host,
    wait_for,
)
from reliability.runner import cli_argv, cli_env, fleet_args, run_cli

from fleetaudit.simfleet import SimFleet, can_run, fleet_with_n_hosts, free_net, with_net

pytestmark = [pytest.mark.fleet, pytest.mark.slow]
OTHERS = ["pi02", "pi03"]
BIG = "var/log/syslog.1"
LATE = "var/log/syslog.9.gz"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    """Yield three started healthy Pis; pi01 carries a 30 MB syslog.1 and a small syslog.9.gz."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    specs = with_net(fleet_with_n_hosts(3, incident_every=0), free_net(hosts=5))
    with SimFleet(tmp_path_factory.mktemp("faultfleet"), specs) as started:
        victim = started.hosts["pi01"]
        grow_log(victim, BIG, 30 * 1024 * 1024)
        (victim.tree / LATE).write_bytes(gzip.compress(b"Sep  1 00:00:01 pi01 CRON[1]: (pi) CMD (true)\n"))
        yield started


@pytest.fixture(scope="module")
def baseline(fleet: SimFleet, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, HostView]:
    """Return the other hosts' views from a clean run."""
    tmp = tmp_path_factory.mktemp("baseline")
    proc = run_cli(fleet_args(fleet.inventory_path, tmp / "reports"), tmp / "home")
    assert proc.returncode in (0, 1), proc.stderr
    report = load_report(tmp / "reports")
    assert {h["status"] for h in report["hosts"]} == {"ok"}
    return views(report, OTHERS)


def _arrived(reports: Path, name: str, rel: str = "") -> bool:
    """Return True once a completed file (or, with ``rel``, that file's partial write) exists for a host."""
    files = host_files(reports, name)
    if rel:
        return any(str(p).endswith(rel) or str(p).endswith(rel + ".part") for p in files)
    return any(not p.name.endswith(".part") for p in files)


def _faulted_run(fleet: SimFleet, tmp: Path, inject: str, *extra: str) -> Tuple[int, str, Dict[str, Any]]:
    """Run the fleet, apply one fault to pi01 when its first file arrives, and return (status, stderr, report)."""
    reports = tmp / "reports"
    victim = fleet.hosts["pi01"]
    proc = start_run(cli_argv(*fleet_args(fleet.inventory_path, reports, *extra)), cli_env(tmp / "home"), tmp)
    stopped: List[int] = []
    try:
        assert wait_for(lambda: _arrived(reports, "pi01"), 60), "pi01 never sent a file"
        if inject == "stop":
            stopped = stop_host(victim)
        elif inject == "reset":
            assert reset_connections(victim), "no session process to kill"
        elif inject == "reboot":
            power_off(victim)
            power_on(fleet, victim)
        _out, err = proc.communicate(timeout=180)
    finally:
        signal_all(stopped, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, load_report(reports)


def _others_complete(report: Dict[str, Any], baseline: Dict[str, HostView]) -> None:
    assert views(report, OTHERS) == baseline


def test_host_stopped_mid_transfer_times_out(fleet: SimFleet, baseline: Dict[str, HostView], tmp_path: Path) -> None:
    """pi01's sshd SIGSTOPped after its first file: cut at its deadline (timeout), the others complete."""
    status, err, report = _faulted_run(fleet, tmp_path, "stop", "--deadline", "10")
    victim = hosts(report)["pi01"]
    assert status == 2 and "Traceback" not in err
    assert victim["status"] == "timeout", victim["reason"]
    assert "deadline" in victim["reason"]
    _others_complete(report, baseline)


def test_connection_reset_mid_transfer(fleet: SimFleet, baseline: Dict[str, HostView], tmp_path: Path) -> None:
    """pi01's sshd session killed mid-stream: error "connection lost after N bytes"; the others complete."""
    status, err, report = _faulted_run(fleet, tmp_path, "reset")
    victim = hosts(report)["pi01"]
    assert "Traceback" not in err
    assert victim["status"] == "error" and "connection lost" in victim["reason"], victim
    assert status == 2
    _others_complete(report, baseline)


def test_host_rebooting_during_the_run(fleet: SimFleet, baseline: Dict[str, HostView], tmp_path: Path) -> None:
    """pi01 powered off and on mid-run: not ok for this run, the others complete, and the next run is ok."""
    status, err, report = _faulted_run(fleet, tmp_path, "reboot")
    victim = hosts(report)["pi01"]
    assert "Traceback" not in err
    assert victim["status"] == "error" and "connection lost" in victim["reason"], victim
    _others_complete(report, baseline)
    proc = run_cli(fleet_args(fleet.inventory_path, tmp_path / "after"), tmp_path / "home")
    assert hosts(load_report(tmp_path / "after"))["pi01"]["status"] == "ok", proc.stderr


def _one_host_run(fleet: SimFleet, tmp: Path, action: str) -> Dict[str, Any]:
    """Run the fleet; once pi01's big syslog.1 starts arriving, delete or grow a file in pi01's tree."""
    reports = tmp / "reports"
    victim = fleet.hosts["pi01"]
    late, big = victim.tree / LATE, victim.tree / BIG
    saved = late.read_bytes()
    proc = start_run(cli_argv(*fleet_args(fleet.inventory_path, reports)), cli_env(tmp / "home"), tmp)
    try:
        assert wait_for(lambda: _arrived(reports, "pi01", "files/" + BIG), 60)
        if action == "vanish":
            late.unlink()
        else:
            with big.open("ab") as handle:
                handle.write(b"Sep 14 04:40:01 raspberrypi lircd[480]: still writing\n" * 20000)
        proc.communicate(timeout=180)
    finally:
        late.write_bytes(saved)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 1), proc.returncode
    return load_report(reports)


def test_source_vanishing_between_listing_and_reading(fleet: SimFleet, baseline: Dict[str, HostView],
                                                      tmp_path: Path) -> None:
    """syslog.9.gz deleted after the glob was expanded: skipped, nothing invented, the host still ok."""
    report = _one_host_run(fleet, tmp_path, "vanish")
    victim = hosts(report)["pi01"]
    syslog = next(s for s in victim["sources"] if s["name"] == "syslog")
    assert victim["status"] == "ok" and syslog["status"] in ("ok", "truncated")
    assert "files/" + BIG in syslog["files"]
    run_dir = Path(str(report.get("run_dir", ""))) if report.get("run_dir") else None
    stored = [p for p in (tmp_path / "reports").rglob("syslog.9.gz")]
    assert all(p.read_bytes()[:2] == b"\x1f\x8b" for p in stored), "a vanished file must not be stored as zeros"
    assert run_dir is None or run_dir.exists()
    _others_complete(report, baseline)


def test_file_growing_while_read(fleet: SimFleet, baseline: Dict[str, HostView], tmp_path: Path) -> None:
    """syslog.1 grows by 1 MB while it is pulled: the framing holds, the host is ok, the others complete."""
    size = (fleet.hosts["pi01"].tree / BIG).stat().st_size
    report = _one_host_run(fleet, tmp_path, "grow")
    victim = hosts(report)["pi01"]
    assert victim["status"] == "ok", victim["reason"]
    stored = next((tmp_path / "reports").glob("2*/pi01/files/" + BIG))
    assert stored.stat().st_size in (size, min(size, 32 * 1024 * 1024))
    _others_complete(report, baseline)


def _add_user(fleet: SimFleet, name: str) -> None:
    """Give pi01 an unprivileged login that can read the fleet's authorized_keys.

    Everything is changed inside pi01's own overlay root (nsenter -r): the machine's /etc/passwd and the
    modes of the fleet's directories outside the namespace stay as they were.
    """
    pid = fleet.hosts["pi01"].init_pid
    line = f"{name}:x:4242:4242:fleetaudit test:/tmp:/bin/sh"
    keys = fleet.hosts["pi01"].state / "authorized_keys"
    parents = " ".join(str(p) for p in keys.parents if str(p) != "/")
    script = (f"grep -q '^{name}:' /etc/passwd || echo '{line}' >> /etc/passwd; "
              f"chmod o+x {parents} && chmod o+r {keys}")
    subprocess.run(["nsenter", "-t", str(pid), "-m", "-r", "-w", "--", "sh", "-c", script], check=True, timeout=30)


def test_permission_denied_on_one_file(fleet: SimFleet, baseline: Dict[str, HostView], tmp_path: Path) -> None:
    """pi01 audited as an unprivileged user with syslog.1 mode 000: that file is denied, the host partial."""
    import yaml

    _add_user(fleet, "auditor")
    data = yaml.safe_load(fleet.inventory_path.read_text(encoding="utf-8"))
    data["hosts"]["pi01"]["user"] = "auditor"
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    big = fleet.hosts["pi01"].tree / BIG
    big.chmod(0)
    try:
        proc = run_cli(fleet_args(inventory, tmp_path / "reports"), tmp_path / "home")
    finally:
        big.chmod(0o644)
    report = load_report(tmp_path / "reports")
    victim = hosts(report)["pi01"]
    syslog = next(s for s in victim["sources"] if s["name"] == "syslog")
    assert "Traceback" not in proc.stderr
    assert victim["status"] == "partial", victim
    assert syslog["status"] == "denied" and BIG.rsplit("/", 1)[1] in syslog["reason"], syslog
    assert any(f["check"] == "source.unavailable" and f["evidence"]["source"] == "syslog" for f in victim["findings"])
    _others_complete(report, baseline)
