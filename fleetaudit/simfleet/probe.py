"""Can this machine run the simulated fleet? Root, unshare, sshd, and an overlay mount inside a namespace."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from typing import Tuple

SSHD = "/usr/sbin/sshd"
TOOLS = ("unshare", "ssh-keygen", "bash", "chroot", "mount", "umount", "hostname")
_PROBE = (
    'set -e; mount -t tmpfs simfleet-probe "$1"; mkdir "$1/u" "$1/w" "$1/m";'
    ' mount -t overlay simfleet-probe -o "lowerdir=/,upperdir=$1/u,workdir=$1/w" "$1/m"; test -d "$1/m/usr"'
)


@functools.lru_cache(maxsize=1)
def can_run() -> Tuple[bool, str]:
    """Return (True, "") when the fleet can start here, else (False, the reason)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False, "the simulated fleet needs root (mount and pid namespaces)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return False, f"missing tools: {', '.join(missing)}"
    if not os.access(SSHD, os.X_OK):
        return False, f"{SSHD} not found (apt-get install openssh-server)"
    return _probe_namespace()


def _probe_namespace() -> Tuple[bool, str]:
    """Try unshare + tmpfs + overlay (lower = /) in a throw-away namespace."""
    with tempfile.TemporaryDirectory(prefix="simfleet-probe-") as tmp:
        cmd = ["unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--propagation", "private",
               "bash", "-c", _PROBE, "probe", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"unshare probe failed: {exc}"
    if proc.returncode != 0:
        return False, f"unshare/overlay probe failed: {(proc.stderr or proc.stdout).strip()[:300]}"
    return True, ""
