"""Decide source and host statuses from what a host sent."""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

from fleetaudit.collect.sources import SourceSpec
from fleetaudit.model import SourceResult

FAILED = ("denied", "error", "timeout")
LOCAL_NA = "not available for a local (directory) host"
_NO_SYSTEMD = ("System has not been booted with systemd", "Failed to connect to bus",
               "systemd is not running")


def _first_line(data: bytes) -> str:
    """Return the first non-empty line of some output, trimmed."""
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def command_status(code: int, err: bytes, truncated: bool, spec: SourceSpec, sudo_hint: str) -> Tuple[str, str]:
    """Return (status, reason) for a command source from its exit code and stderr."""
    text = _first_line(err)
    if code == 124:
        return "timeout", f"ran over its time limit and was stopped ({spec.command.split()[0]})"
    if code == 127:
        return "missing", f"command not found on the host ({text or spec.command.split()[0]})"
    if code == 0 or (truncated and code == 141):
        return ("truncated", f"output over its {spec.cap_bytes} byte cap was cut") if truncated else ("ok", "")
    return _failed_command(code, text, spec, sudo_hint)


def _failed_command(code: int, text: str, spec: SourceSpec, sudo_hint: str) -> Tuple[str, str]:
    """Classify a command that exited non-zero."""
    if any(marker in text for marker in _NO_SYSTEMD):
        return "missing", "systemd is not running on this host"
    if text.startswith("sudo:"):
        return "denied", f"{text} ({sudo_hint})"
    if "ermission denied" in text:
        return "denied", f"{text} ({sudo_hint})" if spec.root_only else text
    return "error", f"exit status {code}" + (f": {text}" if text else "")


def source_status(files: Sequence[str], truncated: bool, missing: bool, denied: Sequence[str],
                  errors: Sequence[str], unavailable: str, command: Optional[Tuple[int, bytes, int]],
                  sudo_hint: str) -> Tuple[str, str]:
    """Return (status, reason) for a files or sqlite source."""
    if errors:
        return "error", "; ".join(errors)[:500]
    if command is not None and command[0] != 0:
        return "error", f"sqlite3 .dump failed (exit {command[0]}): {_first_line(command[1])}"
    if denied:
        shown = ", ".join(denied[:3]) + (f" and {len(denied) - 3} more" if len(denied) > 3 else "")
        return "denied", f"permission denied: {shown} ({sudo_hint})"
    if truncated:
        return "truncated", "larger than its cap: the newest bytes up to the cap were pulled"
    if files:
        return "ok", ""
    if unavailable:
        return "missing", unavailable
    if missing or command is not None:
        return "missing", "not present on the host"
    return "error", "the host sent nothing for this source"


def with_notes(status: str, reason: str, skipped: Sequence[str]) -> Tuple[str, str]:
    """Add the skipped-symlink notes to a source's reason; they never change its status.

    A symlink matched by a log glob (``/var/log/syslog.9 -> /etc/shadow``) is not read: that is the audit doing
    its job, not a failure of the host, so the source keeps its status and the reason says what was skipped.
    A source that matched nothing but symlinks is ``missing`` (nothing was pulled) with the same note.
    """
    if not skipped:
        return status, reason
    shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    if reason == "not present on the host":
        reason = ""
    return status, "; ".join(part for part in (reason, shown) if part)[:500]


def host_status(results: Iterable[SourceResult], specs: Sequence[SourceSpec]) -> Tuple[str, str]:
    """Return ok or partial (with a reason naming the failed sources) for a host that answered."""
    required = {s.name for s in specs if not s.optional}
    bad: List[str] = []
    for result in results:
        unavailable = result.reason == LOCAL_NA
        if result.status in FAILED or (result.name in required and result.status == "missing" and not unavailable):
            bad.append(f"{result.name} {result.status}")
    if not bad:
        return "ok", ""
    return "partial", "some sources failed: " + ", ".join(bad)
