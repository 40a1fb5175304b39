"""Check the filesystem that holds /var/log for space and inodes."""

from __future__ import annotations

from typing import Iterator, Optional

from fleetaudit.facts import Filesystem, HostFacts
from fleetaudit.model import Finding

from .common import make
from .registry import CheckContext, check

LARGEST = 5


def log_filesystem(facts: HostFacts) -> Optional[Filesystem]:
    """Return the filesystem mounted at ``log_mount``, else the longest mount that is a prefix of /var/log."""
    for fs in facts.filesystems:
        if facts.log_mount and fs.mount == facts.log_mount:
            return fs
    candidates = [fs for fs in facts.filesystems
                  if "/var/log".startswith(fs.mount.rstrip("/") + "/") or fs.mount in ("/var/log", "/")]
    return max(candidates, key=lambda fs: len(fs.mount), default=None)


def _severity(fs: Filesystem, ctx: CheckContext) -> Optional[str]:
    """Return critical/warning from the worse of the byte and inode use, or None below the warning level."""
    worst = max(fs.use_percent, fs.inode_use_percent or 0.0)
    limits = ctx.host.thresholds
    if worst >= limits.disk_critical_percent:
        return "critical"
    return "warning" if worst >= limits.disk_warning_percent else None


@check("disk.log_partition_full", description="The filesystem holding /var/log is nearly or completely full.",
       evidence=("mount", "use_percent", "inode_use_percent", "avail_bytes", "largest_files"),
       needs=("filesystems", "log_mount", "largest_log_files"))
def log_partition_full(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report the log filesystem at or above the warning threshold, in bytes or inodes."""
    fs = log_filesystem(facts)
    severity = _severity(fs, ctx) if fs is not None else None
    if fs is None or severity is None:
        return
    largest = [{"path": p, "bytes": n} for p, n in facts.largest_log_files[:LARGEST]]
    top = f"; the largest file is {largest[0]['path']} ({largest[0]['bytes']} bytes)" if largest else ""
    inode = f", {fs.inode_use_percent:g}% of inodes" if fs.inode_use_percent is not None else ""
    summary = (f"{fs.mount} (holding /var/log) is {fs.use_percent:g}% full{inode} with {fs.avail_bytes} bytes "
               f"free{top}: free space and stop what fills it, or new log lines are lost.")
    evidence = {"mount": fs.mount, "use_percent": fs.use_percent, "inode_use_percent": fs.inode_use_percent,
                "avail_bytes": fs.avail_bytes, "largest_files": largest}
    yield make(facts, "disk.log_partition_full", severity, summary, evidence, key=fs.mount)
