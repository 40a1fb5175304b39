"""Inject faults into a running simulated fleet: stop, reset or reboot a host while ``fleetaudit run`` runs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, List, Optional

from fleetaudit.simfleet import SimFleet, SimHost, nsproc

POLL = 0.01


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL)
    return predicate()


def _ns(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def ns_pids(host: SimHost) -> List[int]:
    """Return every process in the host's PID namespace, as seen from the machine."""
    if not host.init_pid:
        return []
    target = _ns(host.init_pid)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and target is not None and _ns(int(entry)) == target:
            found.append(int(entry))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def session_pids(host: SimHost) -> List[int]:
    """Return the host's per-connection processes: sshd children and what they run (not its daemons)."""
    daemons = {comm for comm, _argv0 in host.spec.daemons}
    return [p for p in ns_pids(host) if p != host.init_pid and _comm(p) not in daemons]


def signal_all(pids: List[int], sig: int) -> None:
    """Send ``sig`` to each pid, ignoring those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def stop_host(host: SimHost) -> List[int]:
    """SIGSTOP every process of the host (its sshd stops answering mid-transfer); return them."""
    pids: List[int] = []
    for _ in range(3):      # again: a process may have forked between listing and stopping
        fresh = [p for p in ns_pids(host) if p not in pids]
        signal_all(fresh, signal.SIGSTOP)
        pids += fresh
        time.sleep(0.05)
    return pids


def reset_connections(host: SimHost) -> List[int]:
    """SIGKILL the host's sshd session processes: the TCP connection dies (a reset), the host stays up."""
    pids = session_pids(host)
    signal_all(pids, signal.SIGKILL)
    return pids


def power_off(host: SimHost) -> None:
    """Kill the host's whole namespace, like pulling the plug."""
    if host.process is not None:
        nsproc.kill_namespace(host.process, host.init_pid)
        host.process = None


def power_on(fleet: SimFleet, host: SimHost) -> None:
    """Start the host's namespace again (same tree, keys and address) and wait for its sshd."""
    with host.log_path.open("ab") as log:
        host.process = nsproc.spawn_namespace(fleet.state_dir / "init.sh", fleet._env(host), log)
    nsproc.wait_ready({host.name: host.process}, {host.name: (host.address, host.port)},
                      {host.name: host.log_path}, 30.0)
    pids = nsproc.child_pids(host.process.pid)
    host.init_pid = pids[0] if pids else None


def host_files(reports: Path, name: str) -> List[Path]:
    """Return the files already written for one host in any run (partial or final) under ``reports``."""
    found: List[Path] = []
    for run in reports.iterdir() if reports.is_dir() else []:
        folder = run / name
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file()]
    return found


def grow_log(host: SimHost, rel: str, size: int) -> Path:
    """Write a big, realistic log file into the host's tree (widens the window of a mid-transfer fault)."""
    path = host.tree / rel
    line = b"Sep 14 04:39:01 raspberrypi lircd[480]: lircd-0.10.1[480]: Error: Cannot glob /sys/class/rc/rc0/input*\n"
    with path.open("wb") as handle:
        for _ in range(size // len(line) + 1):
            handle.write(line)
    return path


def start_run(argv: List[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start ``fleetaudit run`` in the background (own process group, output captured)."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(cwd),
                            start_new_session=True)
