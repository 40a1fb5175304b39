"""Run the user's ``--notify`` command with the run summary on stdin; a failure is a value, never raised."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Optional, Tuple

OUTPUT_CAP = 4096


@dataclass(frozen=True)
class NotifyResult:
    """What happened to one notification."""

    command: str
    ok: bool                      # the command ran and exited 0
    exit_status: Optional[int]    # None when it could not start or timed out
    timed_out: bool = False
    stdout: str = ""              # first 4 KiB
    stderr: str = ""
    error: str = ""               # one human line when not ok


def _text(data: Optional[bytes]) -> str:
    """Decode captured output, capped."""
    return (data or b"")[:OUTPUT_CAP].decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> Tuple[bytes, bytes]:
    """Kill the command's whole process group (the shell and anything it started); return its output so far."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return b"", b""


def notify(command: str, summary: str, timeout: float = 30.0) -> NotifyResult:
    """Run ``command`` through /bin/sh with ``summary`` on stdin, waiting at most ``timeout`` seconds."""
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return NotifyResult(command, False, None, error=f"cannot start notify command: {exc}")
    try:
        out, err = proc.communicate(summary.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = _kill_group(proc)
        return NotifyResult(command, False, None, True, _text(out), _text(err),
                            f"notify command timed out after {timeout:g}s")
    status = proc.returncode
    error = "" if status == 0 else f"notify command exited with status {status}: {_text(err).strip()[:200]}"
    return NotifyResult(command, status == 0, status, False, _text(out), _text(err), error)
