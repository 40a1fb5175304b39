"""Print a nightly schedule: a systemd user service + timer, or a crontab line (``fleetaudit schedule``)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Dict, Optional, Sequence

SERVICE = "fleetaudit.service"
TIMER = "fleetaudit.timer"


def fleetaudit_executable() -> str:
    """Return the absolute path of the ``fleetaudit`` console script (next to this Python when not on PATH)."""
    found = shutil.which("fleetaudit")
    if found:
        return os.path.abspath(found)
    return os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "fleetaudit")


def _systemd_word(word: str) -> str:
    """Quote one ExecStart word for systemd (double quotes; '%' doubled as systemd requires)."""
    word = word.replace("%", "%%")
    if word and not any(c in word for c in " \t\"'\\;$"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'


def _command(executable: Optional[str], inventory: str, reports: str, extra: Sequence[str]) -> list[str]:
    """Return the argv of the nightly run."""
    return [executable or fleetaudit_executable(), "run", "-i", inventory, "--reports", reports, *extra]


def systemd_units(workdir: str, inventory: str, reports: str, timeout_minutes: int = 60,
                  executable: Optional[str] = None, extra_args: Sequence[str] = ()) -> Dict[str, str]:
    """Return ``{"fleetaudit.service": ..., "fleetaudit.timer": ...}``: a user service run nightly at 03:00.

    Install with: ``cp`` both into ``~/.config/systemd/user/``, then
    ``systemctl --user daemon-reload && systemctl --user enable --now fleetaudit.timer``
    (and ``loginctl enable-linger $USER`` so it runs while you are logged out).
    """
    workdir = os.path.abspath(workdir)
    argv = _command(executable, inventory, reports, extra_args)
    service = "\n".join([
        "[Unit]", "Description=fleetaudit nightly audit of the Raspberry Pi fleet",
        "Wants=network-online.target", "After=network-online.target", "",
        "[Service]", "Type=oneshot", f"WorkingDirectory={workdir.replace('%', '%%')}",
        f"ExecStart={' '.join(_systemd_word(w) for w in argv)}",
        f"TimeoutStartSec={int(timeout_minutes)}min", "SuccessExitStatus=1", "Nice=10", "",
    ])
    timer = "\n".join([
        "[Unit]", "Description=Run fleetaudit nightly at 03:00", "",
        "[Timer]", "OnCalendar=*-*-* 03:00:00", "RandomizedDelaySec=5min", "Persistent=true", f"Unit={SERVICE}", "",
        "[Install]", "WantedBy=timers.target", "",
    ])
    return {SERVICE: service, TIMER: timer}


def cron_line(workdir: str, inventory: str, reports: str, timeout_minutes: int = 60,
              executable: Optional[str] = None, extra_args: Sequence[str] = ()) -> str:
    """Return a crontab line running the audit at 03:00 from ``workdir`` under ``timeout``.

    '%' is escaped, since cron turns it into a newline. Install with ``crontab -e``.
    """
    argv = _command(executable, inventory, reports, extra_args)
    run = " ".join(shlex.quote(w) for w in argv)
    command = f"cd {shlex.quote(os.path.abspath(workdir))} && timeout {int(timeout_minutes)}m {run}"
    return "0 3 * * * " + command.replace("%", "\\%")
