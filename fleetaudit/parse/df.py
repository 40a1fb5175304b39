"""``df -P`` and ``df -P -i`` output joined into ``Filesystem``s, and the size list of /var/log files."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from fleetaudit.facts import Filesystem


def _rows(text: str) -> List[List[str]]:
    """Split df output into data rows of six or more fields (the mount may contain spaces)."""
    rows: List[List[str]] = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6 and parts[1].isdigit():
            rows.append(parts[:5] + [" ".join(parts[5:])])
    return rows


def _percent(field: str) -> Optional[float]:
    """Parse '87%' (or '-' for filesystems without inodes)."""
    try:
        return float(field.rstrip("%"))
    except ValueError:
        return None


def parse_df(text: str, inodes_text: str = "") -> Tuple[Filesystem, ...]:
    """Parse ``df -P`` (1024-byte blocks) and join ``df -P -i`` rows by mount; duplicates keep the first."""
    inodes: Dict[str, List[str]] = {}
    for row in _rows(inodes_text):
        inodes.setdefault(row[5], row)
    seen: Dict[str, Filesystem] = {}
    for row in _rows(text):
        if row[5] in seen or not all(f.isdigit() for f in row[1:4]):
            continue
        ino = inodes.get(row[5])
        seen[row[5]] = Filesystem(
            row[0], row[5], int(row[1]) * 1024, int(row[2]) * 1024, int(row[3]) * 1024, _percent(row[4]) or 0.0,
            int(ino[1]) if ino else None, int(ino[2]) if ino and ino[2].isdigit() else None,
            _percent(ino[4]) if ino else None)
    return tuple(seen.values())


def log_mount(text: str) -> str:
    """Return the mount point of the first data row of ``df -P /var/log /`` (the filesystem of /var/log)."""
    rows = _rows(text)
    return rows[0][5] if rows else ""


def parse_log_files(text: str, limit: int = 20) -> Tuple[Tuple[str, int], ...]:
    """Parse ``size<TAB>path`` lines into (path, bytes), biggest first, at most ``limit``."""
    found: List[Tuple[str, int]] = []
    for line in text.splitlines():
        size, sep, path = line.partition("\t")
        if sep and size.strip().isdigit() and path:
            found.append((path, int(size)))
    found.sort(key=lambda item: (-item[1], item[0]))
    return tuple(found[:limit])
