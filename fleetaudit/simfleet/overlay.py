"""What a live simulated host must hide of THIS machine: the lirc files the twin must not show.

This is the only simfleet module that reads the machine's package database, and only for the live hosts'
overlay (``hide.list``); the trees themselves come from package data (see ``packages_gen``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import List

from fleetaudit.simfleet.packages_gen import LIRC_PACKAGES

MACHINE_INFO = Path("/var/lib/dpkg/info")
MACHINE_ETC = Path("/etc")
_RC_PATTERNS = ("rc?.d/[SK][0-9][0-9]lirc*", "rc?.d/[SK][0-9][0-9]irexec*")


@functools.lru_cache(maxsize=4)
def hidden_paths(with_lirc: bool, info: Path = MACHINE_INFO, etc: Path = MACHINE_ETC) -> List[str]:
    """Return the machine's files a host without lirc must not show (lirc's package files and rc links).

    A machine without lirc (or without a dpkg database) simply yields fewer paths, possibly none.
    """
    if with_lirc:
        return []
    paths: List[str] = []
    for pkg in LIRC_PACKAGES:
        for listing in sorted(info.glob(f"{pkg}.list")) + sorted(info.glob(f"{pkg}:*.list")):
            paths += _listed_paths(listing)
    for pattern in _RC_PATTERNS:
        paths += [str(p) for p in sorted(etc.glob(pattern))]
    return [p for p in paths if p.startswith("/") and not os.path.isdir(p)]   # never a directory or /bin-like link


def _listed_paths(listing: Path) -> List[str]:
    """Return the lines of one dpkg ``.list`` file ([] when it vanished or cannot be read)."""
    try:
        return listing.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
