"""Turn one host's framed stream into snapshot files and per-source results.

Each record of the stream (see ``fleetaudit.collect.script``) is dispatched to a small handler; bodies go
straight to atomic files in the host's snapshot directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from fleetaudit.collect.dbcopy import apply_rows, check_db, rebuild_db
from fleetaudit.collect.frames import FrameReader, StreamError, fields
from fleetaudit.collect.reuse import ReuseError, grown, header, pulled_state, recompressed, unchanged
from fleetaudit.collect.sources import SourceSpec
from fleetaudit.collect.state import FileState, HostState
from fleetaudit.collect.status import command_status, source_status, with_notes
from fleetaudit.model import SourceResult
from fleetaudit.snapshot import AtomicFile, HostWriter, SnapshotError

DB_FILE = "logger/logger.db"


@dataclass
class SourceAcc:
    """What has arrived so far for one source."""

    spec: SourceSpec
    started: float = 0.0
    ended: float = 0.0
    mark: int = 0
    moved: int = 0
    files: List[str] = field(default_factory=list)
    stored: int = 0
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    truncated: bool = False
    missing: bool = False
    denied: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)    # symlinks matched by a glob, never read
    unavailable: str = ""
    command: Optional[Tuple[int, bytes, int]] = None   # exit code, stderr head, stdout bytes
    done: bool = False


class HostCollector:
    """Consumes one host's stream and writes its files."""

    def __init__(self, writer: HostWriter, specs: Sequence[SourceSpec], sudo_wanted: bool,
                 on_source: Optional[Callable[[SourceResult], None]] = None,
                 previous: Optional[HostState] = None) -> None:
        self.writer = writer
        self.previous = previous
        self.file_states: Dict[str, List[FileState]] = {}
        self.db_state: Optional[Dict[str, Any]] = None
        self.accs: Dict[str, SourceAcc] = {s.name: SourceAcc(s) for s in specs}
        self.sudo_wanted = sudo_wanted
        self.sudo_note = ""
        self.on_source = on_source
        self.ended = False
        self.current: Optional[SourceAcc] = None

    def consume(self, reader: FrameReader) -> None:
        """Read records until END or the end of the stream."""
        while not self.ended:
            line = reader.readline()
            if line is None:
                return
            self._dispatch(fields(line), reader)

    def _acc(self, name: str) -> SourceAcc:
        """Return the accumulator of a source named in a record."""
        acc = self.accs.get(name)
        if acc is None:
            raise StreamError(f"the host sent data for an unknown source {name!r}")
        return acc

    def _dispatch(self, f: List[str], reader: FrameReader) -> None:
        """Handle one record."""
        kind = f[0]
        if kind == "END":
            self.ended = True
        elif kind == "W":
            self.sudo_note = f[-1]
        elif kind == "S":
            self._begin(self._acc(f[1]), reader)
        elif kind == "Z":
            self._end(self._acc(f[1]), reader)
        elif kind in ("F", "Q") and len(f) >= 8:
            self._body(self._acc(f[1]), kind, f, reader)
        elif kind in ("U", "A", "G") and len(f) >= 9:
            self._reuse(self._acc(f[1]), f, reader)
        elif kind == "I" and len(f) >= 8:
            self._new_rows(self._acc(f[1]), int(f[3]), reader)
        elif kind == "T" and len(f) >= 3:
            self.db_state = _json_object("\t".join(f[2:]))
        elif kind == "C":
            self._command(self._acc(f[1]), reader)
        else:
            self._note(kind, f)

    def _note(self, kind: str, f: List[str]) -> None:
        """Handle the one-line records: D, L, M, N, X."""
        if len(f) < 2 or kind not in "DLMNX":
            raise StreamError(f"unknown record {'/'.join(f)[:80]!r}")
        acc = self._acc(f[1])
        text = "\t".join(f[2:])
        if kind == "D":
            acc.denied.append(text)
        elif kind == "L":
            acc.skipped.append(_skipped(f))
        elif kind == "M":
            acc.missing = True
        elif kind == "N":
            acc.unavailable = text
        else:
            acc.errors.append(text)

    def _begin(self, acc: SourceAcc, reader: FrameReader) -> None:
        """Start timing a source."""
        acc.started = time.monotonic()
        acc.mark = reader.consumed
        self.current = acc

    def _end(self, acc: SourceAcc, reader: FrameReader) -> None:
        """Finish a source and report it."""
        acc.ended = time.monotonic()
        acc.moved = reader.consumed - acc.mark
        acc.done = True
        self.current = None
        if self.on_source is not None:
            self.on_source(self.result(acc))

    def _body(self, acc: SourceAcc, kind: str, f: List[str], reader: FrameReader) -> None:
        """Store one file body (or the logger DB, raw or as SQL)."""
        count = int(f[3])
        if kind == "Q":
            self._sql_dump(acc, reader, count)
            return
        rel = DB_FILE if acc.spec.kind == "sqlite" else "files/" + f[7].lstrip("/")
        try:
            handle = self.writer.create(rel)
        except (SnapshotError, FileExistsError) as exc:
            acc.errors.append(f"{f[7]}: not stored ({exc})")
            reader.copy(count, lambda _b: None)
            return

        def write(data: bytes) -> None:
            handle.write(data)
            acc.hasher.update(data)

        reader.copy(count, write)
        sha = handle.commit()
        self._stored(acc, rel, handle, f[2] == "truncated")
        if acc.spec.kind == "files":
            self.file_states.setdefault(acc.spec.name, []).append(pulled_state(acc.spec, header(f), sha))

    def _reuse(self, acc: SourceAcc, f: List[str], reader: FrameReader) -> None:
        """Store a file from the previous snapshot: unchanged (U), grown (A) or re-compressed (G)."""
        h = header(f)
        try:
            if h.kind == "A":
                state = grown(self.writer, self.previous, acc.spec, h, reader)
            elif h.kind == "U":
                state = unchanged(self.writer, self.previous, acc.spec, h)
            else:
                state = recompressed(self.writer, self.previous, acc.spec, h)
        except (ReuseError, OSError, SnapshotError) as exc:
            acc.errors.append(f"{h.path}: not stored ({exc})")
            return
        path = self.writer.path(h.rel)
        _hash_file(acc, path)
        acc.files.append(h.rel)
        acc.stored += os.path.getsize(path)
        acc.truncated = acc.truncated or state.status == "truncated"
        self.file_states.setdefault(acc.spec.name, []).append(state)

    def _new_rows(self, acc: SourceAcc, count: int, reader: FrameReader) -> None:
        """Build the logger DB as the previous copy plus the rows the host added since."""
        parts: List[bytes] = []
        reader.copy(count, parts.append)
        if self.previous is None:
            acc.errors.append("the host sent new logger DB rows but the last run has no DB")
            return
        problem = apply_rows(self.writer, DB_FILE, os.path.join(self.previous.directory, DB_FILE), b"".join(parts))
        if problem:
            acc.errors.append(problem)
            return
        _hash_file(acc, self.writer.path(DB_FILE))
        acc.files.append(DB_FILE)
        acc.stored += os.path.getsize(self.writer.path(DB_FILE))

    def db_state_to_keep(self) -> Optional[Dict[str, Any]]:
        """Return the logger DB state when this run stored the DB without error, else None."""
        acc = next((a for a in self.accs.values() if a.spec.kind == "sqlite"), None)
        if acc is None or not acc.done or acc.errors or DB_FILE not in acc.files:
            return None
        return self.db_state

    def _stored(self, acc: SourceAcc, rel: str, handle: AtomicFile, truncated: bool) -> None:
        """Record one stored file in its source."""
        acc.files.append(rel)
        acc.stored += handle.size
        acc.truncated = acc.truncated or truncated
        if rel == DB_FILE:
            problem = check_db(self.writer.path(rel))
            if problem:
                acc.errors.append(problem)

    def _sql_dump(self, acc: SourceAcc, reader: FrameReader, count: int) -> None:
        """Rebuild the logger DB from an SQL dump sent by the host."""
        parts: List[bytes] = []
        reader.copy(count, parts.append)
        self._rebuild(acc, b"".join(parts))

    def _rebuild(self, acc: SourceAcc, sql: bytes) -> None:
        """Write the logger DB rebuilt from SQL text."""
        problem = rebuild_db(self.writer, DB_FILE, sql)
        if problem:
            acc.errors.append(problem)
            return
        with open(self.writer.path(DB_FILE), "rb") as handle:
            data = handle.read()
        acc.hasher.update(data)
        acc.files.append(DB_FILE)
        acc.stored += len(data)

    def _command(self, acc: SourceAcc, reader: FrameReader) -> None:
        """Store a command's stdout (base64 section), its stderr, and its exit code."""
        if acc.spec.kind == "sqlite":
            self._sqlite_dump_command(acc, reader)
            return
        handle = self.writer.create(f"cmd/{acc.spec.name}.txt")
        header = reader.base64_until_header(handle.write)
        handle.commit()
        rel = f"cmd/{acc.spec.name}.txt"
        self._finish_command(acc, reader, header, rel, handle.size)

    def _sqlite_dump_command(self, acc: SourceAcc, reader: FrameReader) -> None:
        """Handle the ``sqlite3 .dump`` fallback: rebuild the DB from its SQL output."""
        parts: List[bytes] = []
        header = reader.base64_until_header(parts.append)
        code, err = self._stderr_and_code(acc, reader, header)
        acc.command = (code, err, sum(len(p) for p in parts))
        if code == 0:
            self._rebuild(acc, b"".join(parts))

    def _stderr_and_code(self, acc: SourceAcc, reader: FrameReader, header: bytes) -> Tuple[int, bytes]:
        """Read the stderr section and the exit-code record that follow a command's stdout."""
        if fields(header)[0] != "E":
            raise StreamError(f"{acc.spec.name}: expected the stderr section")
        errs: List[bytes] = []
        code_line = fields(reader.base64_until_header(errs.append))
        if code_line[0] != "R" or len(code_line) < 3:
            raise StreamError(f"{acc.spec.name}: expected the exit code record")
        code = int(code_line[2]) if code_line[2].strip().isdigit() else 255
        return code, b"".join(errs)

    def _finish_command(self, acc: SourceAcc, reader: FrameReader, header: bytes, rel: str, size: int) -> None:
        """Cut an over-cap output to its cap, store stderr, and record the exit code."""
        code, err = self._stderr_and_code(acc, reader, header)
        if size > acc.spec.cap_bytes:
            size = _cut_to_cap(self.writer, rel, acc.spec.cap_bytes, acc.spec.log)
            acc.truncated = True
        _hash_file(acc, self.writer.path(rel))
        acc.files.append(rel)
        acc.stored += size
        if err:
            errfile = self.writer.create(f"cmd/{acc.spec.name}.err")
            errfile.write(err)
            errfile.commit()
        acc.command = (code, (err or _head(self.writer.path(rel)))[:400], size)

    def result(self, acc: SourceAcc) -> SourceResult:
        """Return the SourceResult for one source as it stands."""
        status, reason = self._status(acc)
        return SourceResult(name=acc.spec.name, status=status, files=tuple(acc.files), bytes=acc.stored,
                            bytes_moved=acc.moved, sha256=acc.hasher.hexdigest() if acc.files else "",
                            duration_s=max(acc.ended - acc.started, 0.0), truncated=acc.truncated,
                            reason=reason)

    def _status(self, acc: SourceAcc) -> Tuple[str, str]:
        """Decide one source's status and reason."""
        if acc.command is not None and acc.spec.kind == "command":
            return command_status(acc.command[0], acc.command[1], acc.truncated, acc.spec, self._sudo_hint())
        missing = acc.missing or bool(acc.skipped)
        status, reason = source_status(acc.files, acc.truncated, missing, acc.denied, acc.errors, acc.unavailable,
                                       acc.command, self._sudo_hint())
        return with_notes(status, reason, acc.skipped)

    def _sudo_hint(self) -> str:
        """Explain why root-only files may be unreadable."""
        if not self.sudo_wanted:
            return "set 'sudo: true' for this host to read it with sudo -n"
        return self.sudo_note or "sudo -n was used"

    def results(self, cut_reason: str) -> Tuple[SourceResult, ...]:
        """Return every source's result; sources the stream never finished get ``cut_reason``."""
        out = []
        for acc in self.accs.values():
            if acc.done:
                out.append(self.result(acc))
            else:
                status = "timeout" if "deadline" in cut_reason else "error"
                out.append(SourceResult(name=acc.spec.name, status=status, files=tuple(acc.files),
                                        bytes=acc.stored, reason=cut_reason))
        return tuple(out)


def _skipped(f: List[str]) -> str:
    """Return the note for a symlink the host skipped: ``skipped symlink <path> -> <target>``."""
    target = f[3] if len(f) > 3 else ""
    return f"skipped symlink {f[2]} -> {target or '?'}"


def _json_object(text: str) -> Optional[Dict[str, Any]]:
    """Return ``text`` decoded as a JSON object, or None."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _head(path: str) -> bytes:
    """Return the first bytes of a stored output (a failing command often explains itself on stdout)."""
    with open(path, "rb") as handle:
        return handle.read(400)


def _hash_file(acc: SourceAcc, path: str) -> None:
    """Feed a stored file into its source's hash."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            acc.hasher.update(block)


def _cut_to_cap(writer: HostWriter, rel: str, cap: int, newest: bool) -> int:
    """Rewrite a stored output keeping ``cap`` bytes: the newest (end) for logs, else the first; return cap."""
    path = writer.path(rel)
    with open(path, "rb") as handle:
        handle.seek(-cap if newest else 0, 2 if newest else 0)
        data = handle.read(cap)
    replacement = AtomicFile(path + ".cut")
    replacement.write(data)
    replacement.commit()
    os.replace(path + ".cut", path)
    return len(data)
