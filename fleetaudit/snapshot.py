"""The on-disk snapshot store: ``reports/<run-id>/<host>/...`` plus ``manifest.json``.

A run is built in ``reports/.<run-id>.partial``; every file is written under a temporary name and renamed; the
manifest is written last and the directory renamed to ``reports/<run-id>`` only then, so a crash never leaves
a directory that looks complete. Paths from hosts are sanitised: nothing is written outside the host directory
and no symlink is followed (files are created with O_NOFOLLOW|O_EXCL in directories this module made).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from fleetaudit.model import HOST_STATUSES, SOURCE_STATUSES, HostSnapshot, RunSnapshot, SourceResult

MANIFEST = "manifest.json"
SCHEMA = "fleetaudit.manifest/1"
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@=,")


class SnapshotError(Exception):
    """A run directory is missing, incomplete or malformed; or a path would escape its host directory."""


def new_run_id(now: Optional[dt.datetime] = None) -> str:
    """Return a sortable run id such as ``20261203T030000Z-ab12``."""
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return when.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def utc_now() -> str:
    """Return the current UTC time in ISO 8601 with seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def safe_name(name: str) -> str:
    """Return a host name usable as one directory name (no separators, no leading dot)."""
    clean = "".join(c if c in _SAFE else "_" for c in name).lstrip(".")
    return clean or "_"


def safe_relpath(rel: str) -> str:
    """Return ``rel`` as a clean relative path; raise SnapshotError if it could leave its directory."""
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." or "\0" in p for p in parts):
        raise SnapshotError(f"unsafe path in snapshot: {rel!r}")
    return "/".join(parts)


def _mkdirs(base: str, rel_dir: str) -> str:
    """Create ``base/rel_dir`` (mode 0700), refusing symlinked components; return its path."""
    path = base
    for part in [p for p in rel_dir.split("/") if p]:
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if os.path.islink(path) or not os.path.isdir(path):
                raise SnapshotError(f"not a plain directory: {path}") from None
    return path


class AtomicFile:
    """A file being written under a temporary name; ``commit`` renames it into place."""

    def __init__(self, final: str) -> None:
        self.final = final
        self.temp = final + ".part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        self._fd = os.open(self.temp, flags, 0o600)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append bytes."""
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._hash.update(data)
        self.size += len(data)

    def commit(self) -> str:
        """Close and rename into place; return the sha256 hex digest of the content."""
        os.close(self._fd)
        os.replace(self.temp, self.final)
        return self._hash.hexdigest()

    def discard(self) -> None:
        """Close and delete the temporary file."""
        os.close(self._fd)
        os.unlink(self.temp)


def _copy_file(source: str, target: AtomicFile) -> None:
    """Copy a file's bytes into ``target`` and commit it."""
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            target.write(block)
    target.commit()


class HostWriter:
    """Writes one host's files under its directory in the partial run."""

    def __init__(self, partial_dir: str, final_dir: str) -> None:
        self.partial_dir = partial_dir
        self.directory = final_dir

    def create(self, rel: str) -> AtomicFile:
        """Start writing ``rel`` (sanitised) below the host directory."""
        clean = safe_relpath(rel)
        parent, _, _ = clean.rpartition("/")
        folder = _mkdirs(self.partial_dir, parent)
        return AtomicFile(os.path.join(folder, clean.rpartition("/")[2]))

    def link(self, rel: str, source: str) -> int:
        """Put ``source`` (a file of an earlier, committed run) at ``rel``: a hard link, else a copy; return its size.

        Committed snapshot files are never modified, so sharing the inode is safe, and deleting the earlier
        run (retention) leaves this link intact.
        """
        clean = safe_relpath(rel)
        parent, _, name = clean.rpartition("/")
        final = os.path.join(_mkdirs(self.partial_dir, parent), name)
        try:
            os.link(source, final, follow_symlinks=False)
        except OSError:
            _copy_file(source, AtomicFile(final))
        return os.path.getsize(final)

    def path(self, rel: str) -> str:
        """Return where ``rel`` lives in the partial directory (for hard-linking or reading back)."""
        return os.path.join(self.partial_dir, safe_relpath(rel))


class RunWriter:
    """Builds ``reports/.<run-id>.partial`` and publishes it as ``reports/<run-id>``."""

    def __init__(self, reports_dir: str, run_id: str, inventory_path: str) -> None:
        self.reports_dir = os.path.abspath(reports_dir)
        self.run_id = run_id
        self.inventory_path = inventory_path
        self.started = utc_now()
        os.makedirs(self.reports_dir, mode=0o700, exist_ok=True)
        self.partial = os.path.join(self.reports_dir, f".{run_id}.partial")
        self.final = os.path.join(self.reports_dir, run_id)
        if os.path.lexists(self.final):
            raise SnapshotError(f"run directory already exists: {self.final}")
        os.mkdir(self.partial, 0o700)

    def host(self, name: str) -> HostWriter:
        """Return the writer for one host's directory (created now)."""
        folder = safe_name(name)
        _mkdirs(self.partial, folder)
        return HostWriter(os.path.join(self.partial, folder), os.path.join(self.final, folder))

    def commit(self, hosts: Sequence[HostSnapshot]) -> RunSnapshot:
        """Write the manifest last, then rename the run into place; return the finished snapshot."""
        run = RunSnapshot(run_id=self.run_id, directory=self.final, inventory_path=self.inventory_path,
                          hosts=tuple(hosts), started=self.started, finished=utc_now(), complete=True)
        data = json.dumps(manifest_dict(run), indent=1, sort_keys=False).encode("utf-8")
        _write_synced(os.path.join(self.partial, MANIFEST), data)
        os.rename(self.partial, self.final)
        _fsync_dir(self.reports_dir)
        return run


def _write_synced(path: str, data: bytes) -> None:
    """Write a file atomically and durably (temp name, fsync, rename)."""
    handle = AtomicFile(path)
    handle.write(data)
    os.fsync(handle._fd)
    handle.commit()


def _fsync_dir(path: str) -> None:
    """Flush a directory entry change to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _source_dict(src: SourceResult) -> Dict[str, Any]:
    """Return one source's manifest entry."""
    return {"name": src.name, "status": src.status, "files": list(src.files), "bytes": src.bytes,
            "bytes_moved": src.bytes_moved, "sha256": src.sha256, "duration_s": round(src.duration_s, 4),
            "truncated": src.truncated, "reason": src.reason}


def _host_dict(host: HostSnapshot) -> Dict[str, Any]:
    """Return one host's manifest entry."""
    return {"host": host.host, "dir": os.path.basename(host.directory), "status": host.status,
            "reason": host.reason, "started": host.started, "finished": host.finished,
            "duration_s": round(host.duration_s, 4), "groups": list(host.groups),
            "bytes_moved": sum(s.bytes_moved for s in host.sources),
            "sources": [_source_dict(s) for s in host.sources]}


def manifest_dict(run: RunSnapshot) -> Dict[str, Any]:
    """Return the manifest of a run as plain JSON data."""
    return {"schema": SCHEMA, "run_id": run.run_id, "inventory_path": run.inventory_path,
            "started": run.started, "finished": run.finished, "complete": run.complete,
            "bytes_moved": sum(s.bytes_moved for h in run.hosts for s in h.sources),
            "hosts": [_host_dict(h) for h in run.hosts]}


def _need(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """Return ``data[key]`` checked for type; raise SnapshotError naming the place otherwise."""
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SnapshotError(f"{where}: '{key}' missing or not {kind.__name__}")
    return value


def _source(data: Any, where: str) -> SourceResult:
    """Rebuild one SourceResult from the manifest."""
    if not isinstance(data, dict):
        raise SnapshotError(f"{where}: a source entry is not an object")
    status = _need(data, "status", str, where)
    if status not in SOURCE_STATUSES:
        raise SnapshotError(f"{where}: unknown source status {status!r}")
    return SourceResult(name=_need(data, "name", str, where), status=status,
                        files=tuple(str(f) for f in _need(data, "files", list, where)),
                        bytes=_need(data, "bytes", int, where), bytes_moved=int(data.get("bytes_moved", 0)),
                        sha256=str(data.get("sha256", "")), duration_s=float(data.get("duration_s", 0.0)),
                        truncated=bool(data.get("truncated", False)), reason=str(data.get("reason", "")))


def _host(data: Any, run_dir: str) -> HostSnapshot:
    """Rebuild one HostSnapshot from the manifest."""
    if not isinstance(data, dict):
        raise SnapshotError(f"{run_dir}: a host entry is not an object")
    name = _need(data, "host", str, run_dir)
    status = _need(data, "status", str, name)
    if status not in HOST_STATUSES:
        raise SnapshotError(f"{name}: unknown host status {status!r}")
    folder = safe_name(str(data.get("dir") or name))
    return HostSnapshot(host=name, status=status, reason=str(data.get("reason", "")),
                        directory=os.path.join(run_dir, folder),
                        sources=tuple(_source(s, name) for s in _need(data, "sources", list, name)),
                        started=str(data.get("started", "")), finished=str(data.get("finished", "")),
                        duration_s=float(data.get("duration_s", 0.0)),
                        groups=tuple(str(g) for g in data.get("groups", ())))


def _load_manifest(run_dir: str) -> Dict[str, Any]:
    """Read and decode manifest.json; raise SnapshotError when absent or not JSON."""
    path = os.path.join(run_dir, MANIFEST)
    if not os.path.isfile(path):
        raise SnapshotError(f"{run_dir}: no {MANIFEST} (not a run directory, or the run did not complete)")
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise SnapshotError(f"{path}: the manifest is not a JSON object")
    return data


def read_run(run_dir: str) -> RunSnapshot:
    """Return the snapshot stored in ``run_dir``; raise SnapshotError on a bad or incomplete directory."""
    run_dir = os.path.abspath(run_dir)
    data = _load_manifest(run_dir)
    if data.get("schema") != SCHEMA:
        raise SnapshotError(f"{run_dir}: unknown manifest schema {data.get('schema')!r}")
    if data.get("complete") is not True:
        raise SnapshotError(f"{run_dir}: the run is marked incomplete")
    hosts = tuple(_host(h, run_dir) for h in _need(data, "hosts", list, run_dir))
    return RunSnapshot(run_id=_need(data, "run_id", str, run_dir), directory=run_dir,
                       inventory_path=str(data.get("inventory_path", "")), hosts=hosts,
                       started=str(data.get("started", "")), finished=str(data.get("finished", "")),
                       complete=True)


def list_runs(reports_dir: str) -> List[Tuple[str, str]]:
    """Return ``(run_id, path)`` of every complete run under ``reports_dir``, oldest first."""
    if not os.path.isdir(reports_dir):
        return []
    names = sorted(n for n in os.listdir(reports_dir) if not n.startswith(".")
                   and os.path.isfile(os.path.join(reports_dir, n, MANIFEST)))
    return [(n, os.path.join(os.path.abspath(reports_dir), n)) for n in names]
