"""Find a source's files in a host snapshot directory (layout in ``collect/sources.py``)."""

from __future__ import annotations

import fnmatch
import os
from typing import List, Optional, Sequence, Tuple

from fleetaudit.model import HostSnapshot
from fleetaudit.parse.lines import read_text, rotation_order

FileRef = Tuple[str, str]   # (absolute path on disk, snapshot-relative path)


def listed(snap: HostSnapshot, source: str) -> List[FileRef]:
    """Return the files the manifest lists for a source that exist on disk."""
    result = snap.source(source)
    refs = [(os.path.join(snap.directory, rel), rel) for rel in (result.files if result else ())]
    return [ref for ref in refs if os.path.isfile(ref[0])]


def under(snap: HostSnapshot, folder: str, patterns: Sequence[str]) -> List[FileRef]:
    """Return files directly in ``files/<folder>`` whose names match a pattern."""
    base = os.path.join(snap.directory, "files", folder.strip("/"))
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    rel_base = os.path.join("files", folder.strip("/"))
    return [(os.path.join(base, n), os.path.join(rel_base, n)) for n in names
            if any(fnmatch.fnmatchcase(n, p) for p in patterns) and os.path.isfile(os.path.join(base, n))]


def source_files(snap: HostSnapshot, source: str, folder: str, patterns: Sequence[str]) -> List[FileRef]:
    """Return the manifest's files for a source, or those found by name when the manifest lists none."""
    return listed(snap, source) or under(snap, folder, patterns)


def family(refs: Sequence[FileRef], base: str) -> List[FileRef]:
    """Return one rotated log family (base, base.1, base.2.gz, ...) oldest first."""
    mine = {os.path.basename(rel): (path, rel) for path, rel in refs
            if os.path.basename(rel) == base or os.path.basename(rel).startswith((base + ".", base + "-"))}
    return [mine[name] for name in rotation_order(list(mine), base)]


def cmd_text(snap: HostSnapshot, name: str) -> Optional[str]:
    """Return the text of cmd/<name>.txt, or None when it is absent."""
    return read_text(os.path.join(snap.directory, "cmd", name + ".txt"))


def file_text(snap: HostSnapshot, remote: str) -> Optional[str]:
    """Return the text of files/<remote path>, or None when it is absent."""
    return read_text(os.path.join(snap.directory, "files", remote.lstrip("/")))


def walk_files(snap: HostSnapshot, folder: str) -> List[FileRef]:
    """Return every file under files/<folder>, sorted by path."""
    base = os.path.join(snap.directory, "files", folder.strip("/"))
    found: List[FileRef] = []
    for root, _dirs, names in os.walk(base):
        for name in names:
            path = os.path.join(root, name)
            found.append((path, os.path.relpath(path, snap.directory)))
    return sorted(found, key=lambda ref: ref[1])
