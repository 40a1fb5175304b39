"""What a host looked like at its last complete collection: the basis of incremental pulls.

Every host directory of a run gets ``collect-state.json`` (written with the rest of the run, so it is only
ever seen in a complete run): per stored file the remote path, inode, size and mtime, and which remote byte
range the stored copy holds with its sha256; and the logger DB's row state as the host computed it. The next
run reads the newest complete run holding the host's state and sends the entries to the host, which decides
per file whether it is unchanged, grown (only the new bytes are sent) or new.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from fleetaudit.snapshot import HostWriter, list_runs, safe_name

STATE_FILE = "collect-state.json"
VERSION = 1
COMPRESSED = (".gz", ".xz", ".bz2")


@dataclass(frozen=True)
class FileState:
    """One stored file: the remote file it came from and the remote byte range the stored copy holds."""

    path: str                  # remote absolute path
    rel: str                   # snapshot-relative path of the stored copy
    inode: int
    size: int                  # remote size when pulled
    mtime: int
    off: int                   # stored bytes are remote bytes [off, off + length)
    length: int
    sha: str                   # sha256 of the stored bytes
    status: str = "ok"         # ok | truncated

    @property
    def full(self) -> bool:
        """Return True when the stored copy is the whole uncompressed remote file."""
        return self.off == 0 and self.length == self.size and not self.path.endswith(COMPRESSED)


@dataclass(frozen=True)
class HostState:
    """Everything remembered about one host's last complete collection."""

    files: Mapping[str, Tuple[FileState, ...]] = field(default_factory=dict)   # by source name
    db: Optional[Mapping[str, Any]] = None                                      # as the host computed it
    directory: str = ""                                                         # the run's host directory


def _file(data: Mapping[str, Any]) -> FileState:
    """Rebuild one FileState from JSON data (raises KeyError/TypeError/ValueError when malformed)."""
    return FileState(path=str(data["path"]), rel=str(data["rel"]), inode=int(data["inode"]),
                     size=int(data["size"]), mtime=int(data["mtime"]), off=int(data["off"]),
                     length=int(data["length"]), sha=str(data["sha"]), status=str(data.get("status", "ok")))


def _present(directory: str, files: Sequence[FileState]) -> Tuple[FileState, ...]:
    """Keep only the entries whose stored copy still exists in ``directory``."""
    return tuple(f for f in files if os.path.isfile(os.path.join(directory, f.rel)))


def parse_state(text: str, directory: str) -> Optional[HostState]:
    """Return the state stored as ``text`` for the host directory, or None when it is unusable."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        files = {str(name): _present(directory, [_file(f) for f in entries])
                 for name, entries in dict(data.get("files") or {}).items()}
        db = data.get("db")
    except (ValueError, KeyError, TypeError):
        return None
    db_ok = isinstance(db, dict) and os.path.isfile(os.path.join(directory, "logger", "logger.db"))
    return HostState(files=files, db=db if db_ok else None, directory=directory)


def _newest_first(reports_dir: str) -> List[str]:
    """Return the complete runs newest first (run ids sort by second; two runs in one second by manifest time)."""
    def key(run: Tuple[str, str]) -> Tuple[str, int]:
        try:
            return run[0][:16], os.stat(os.path.join(run[1], "manifest.json")).st_mtime_ns
        except OSError:
            return run[0][:16], 0
    return [path for _name, path in sorted(list_runs(reports_dir), key=key, reverse=True)]


def load_previous(reports_dir: str, host_name: str) -> Optional[HostState]:
    """Return the state of the newest complete run that holds one for ``host_name``, or None."""
    for run_dir in _newest_first(reports_dir):
        directory = os.path.join(run_dir, safe_name(host_name))
        try:
            with open(os.path.join(directory, STATE_FILE), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        state = parse_state(text, directory)
        if state is not None:
            return state
    return None


def save_state(writer: HostWriter, files: Mapping[str, Sequence[FileState]],
               db: Optional[Mapping[str, Any]]) -> None:
    """Write the host's state file into its (partial) snapshot directory."""
    data = {"version": VERSION, "files": {name: [asdict(f) for f in entries] for name, entries in files.items()},
            "db": dict(db) if db is not None else None}
    handle = writer.create(STATE_FILE)
    handle.write(json.dumps(data, indent=0, sort_keys=True).encode("utf-8"))
    handle.commit()


def known_lines(entries: Sequence[FileState]) -> str:
    """Return the entries as the remote script reads them: one tab-separated line each."""
    lines: List[str] = []
    for f in entries:
        if "\t" in f.path or "\n" in f.path:
            continue
        flag = "f" if f.full else "p"
        lines.append("\t".join(str(v) for v in (f.inode, f.size, f.mtime, f.off, f.length, f.sha, flag, f.path)))
    return "\n".join(lines)


def find(entries: Sequence[FileState], path: str) -> Optional[FileState]:
    """Return the entry for a remote path, or None."""
    for entry in entries:
        if entry.path == path:
            return entry
    return None


def moved(entry: FileState, path: str, rel: str) -> FileState:
    """Return ``entry`` describing the same remote bytes found again at ``path`` (a rotation keeps the inode)."""
    return replace(entry, path=path, rel=rel)


def by_source(states: Dict[str, List[FileState]], name: str) -> List[FileState]:
    """Return (creating it) the list of file states of one source."""
    return states.setdefault(name, [])
