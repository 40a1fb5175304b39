"""Processes and mounts of a running fleet: one `unshare` namespace per host, tmpfs mounts, readiness polling."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Callable, Dict, List, Mapping, Optional

UNSHARE = ["unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--propagation", "private"]
PR_SET_PDEATHSIG = 1


class SimFleetError(RuntimeError):
    """A simulated host could not be started; the message carries its log."""


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the Python process that started us dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn_namespace(init_script: Path, env: Mapping[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start ``unshare ... bash init_script outer`` with ``env``; output goes to ``log``."""
    preexec: Optional[Callable[[], None]] = None
    if threading.current_thread() is threading.main_thread():
        preexec = _die_with_parent       # a thread's exit would fire PDEATHSIG: only from the main thread
    return subprocess.Popen(UNSHARE + ["bash", str(init_script), "outer"], env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec)


def child_pids(pid: int) -> List[int]:
    """Return the direct children of ``pid`` (the namespace's PID 1 for an unshare process)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    except OSError:
        return []
    return [int(p) for p in text.split()]


def pid_alive(pid: int) -> bool:
    """Return True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def kill_namespace(proc: subprocess.Popen[bytes], init_pid: Optional[int], timeout: float = 10.0) -> None:
    """Kill the namespace's PID 1 (the kernel then kills the rest) and its unshare; wait until both are gone."""
    if init_pid and init_pid in child_pids(proc.pid):     # still ours: never kill a recycled PID
        _kill(init_pid)                                     # unshare reaps it and exits
    else:
        _kill(proc.pid)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc.pid)
        proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while init_pid and pid_alive(init_pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _kill(pid: int) -> None:
    """Send SIGKILL, ignoring a process that is already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def ssh_banner(address: str, port: int, timeout: float = 0.5) -> bytes:
    """Return the first bytes the server sends (b"" when it refuses or stays silent)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64)
    except OSError:
        return b""


def wait_ready(procs: Mapping[str, subprocess.Popen[bytes]], addresses: Mapping[str, tuple[str, int]],
               logs: Mapping[str, Path], timeout: float) -> None:
    """Wait until every host's sshd sends its SSH banner; raise SimFleetError with its log when one does not."""
    pending: Dict[str, tuple[str, int]] = dict(addresses)
    deadline = time.monotonic() + timeout
    while pending:
        for name in list(pending):
            if procs[name].poll() is not None:
                raise SimFleetError(_failure(name, "exited early", logs[name]))
            if ssh_banner(*pending[name]).startswith(b"SSH-"):
                del pending[name]
        if pending and time.monotonic() > deadline:
            name = sorted(pending)[0]
            raise SimFleetError(_failure(name, f"sshd not ready after {timeout:.0f}s", logs[name]))
        if pending:
            time.sleep(0.05)


def _failure(name: str, what: str, log: Path) -> str:
    """Return an error message with the tail of the host's log."""
    try:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    except OSError as exc:
        tail = f"(no log: {exc})"
    return f"simulated host {name}: {what}; log {log}:\n{tail}"


def mount_tmpfs(path: Path, size_bytes: int, label: str) -> None:
    """Mount a tmpfs of ``size_bytes`` at ``path`` (created if needed)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", label, str(path)],
                   check=True, capture_output=True, timeout=30)


def unmount(path: Path) -> None:
    """Unmount ``path``; lazily when it is busy; nothing when it is not mounted."""
    if not os.path.ismount(path):
        return
    proc = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
    if proc.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def mounts_under(path: Path) -> List[Path]:
    """Return mount points at or below ``path`` in this namespace, deepest first."""
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda p: len(str(p)), reverse=True)
