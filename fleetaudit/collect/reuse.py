"""Rebuild files the host did not (fully) send from the previous complete snapshot.

Three records of the stream name a file of the last run (``prevpath``) instead of carrying the whole body:
  U  unchanged (same inode, size and mtime): the stored copy is hard-linked (copied across file systems)
  A  grown: the stored copy is verified on the host (sha256 of its byte range), only the new bytes follow;
     the new copy is the old one plus those bytes, cut to the source's cap from the front
  G  a new ``.gz`` whose decompressed content equals a file stored whole last time (``syslog.1`` rotated to
     ``syslog.2.gz``): it is re-compressed here from the stored copy (same lines, not the same bytes)
Every snapshot therefore holds complete content; nothing is ever modified in the previous run.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, replace
from typing import Callable, List

from fleetaudit.collect.frames import FrameReader
from fleetaudit.collect.sources import SourceSpec
from fleetaudit.collect.state import COMPRESSED, FileState, HostState, find
from fleetaudit.snapshot import AtomicFile, HostWriter

BLOCK = 1 << 20


class ReuseError(Exception):
    """The previous snapshot cannot provide what the host referred to."""


@dataclass(frozen=True)
class Header:
    """The fields of an F/U/A/G record."""

    kind: str
    status: str
    count: int
    size: int
    inode: int
    mtime: int
    path: str
    prevpath: str = ""

    @property
    def rel(self) -> str:
        """Return where the file goes in the snapshot."""
        return "files/" + self.path.lstrip("/")


def header(f: List[str]) -> Header:
    """Parse a record's fields (``kind name status n size inode mtime path [prevpath]``)."""
    def num(text: str) -> int:
        return int(text) if text.strip().isdigit() else 0
    return Header(f[0], f[2], num(f[3]), num(f[4]), num(f[5]), num(f[6]), f[7], f[8] if len(f) > 8 else "")


def pulled_state(spec: SourceSpec, h: Header, sha: str) -> FileState:
    """Return the state of a file sent whole (``F``): the newest bytes for over-cap logs, else the first."""
    tail = spec.log and not h.path.endswith(COMPRESSED)
    off = h.size - h.count if h.status == "truncated" and tail else 0
    return FileState(h.path, h.rel, h.inode, h.size, h.mtime, max(off, 0), h.count, sha, h.status)


def _entry(previous: HostState | None, spec: SourceSpec, h: Header) -> FileState:
    """Return the previous entry a record refers to, or raise ReuseError."""
    entry = find(previous.files.get(spec.name, ()), h.prevpath) if previous is not None else None
    if previous is None or entry is None:
        raise ReuseError(f"{h.path}: the host referred to {h.prevpath}, which the last run did not store")
    return entry


def _source(previous: HostState | None, entry: FileState) -> str:
    """Return the stored copy of an entry in the previous run."""
    assert previous is not None
    return os.path.join(previous.directory, entry.rel)


def _copy_into(path: str, handle: AtomicFile, skip: int = 0,
               transform: Callable[[bytes], bytes] = lambda b: b) -> None:
    """Append a file's bytes (after ``skip``) to ``handle``, transformed."""
    with open(path, "rb") as source:
        source.seek(skip)
        for block in iter(lambda: source.read(BLOCK), b""):
            handle.write(transform(block))


def unchanged(writer: HostWriter, previous: HostState | None, spec: SourceSpec, h: Header) -> FileState:
    """Link the previous copy of an unchanged file into this snapshot; return its state."""
    entry = _entry(previous, spec, h)
    writer.link(h.rel, _source(previous, entry))
    return replace(entry, path=h.path, rel=h.rel)


def grown(writer: HostWriter, previous: HostState | None, spec: SourceSpec, h: Header,
          reader: FrameReader) -> FileState:
    """Store the previous copy plus the new bytes that follow the record, keeping at most the cap."""
    try:
        entry = _entry(previous, spec, h)
    except ReuseError:
        reader.copy(h.count, lambda _b: None)
        raise
    drop = max(entry.length + h.count - spec.cap_bytes, 0)
    handle = writer.create(h.rel)
    _copy_into(_source(previous, entry), handle, skip=drop)
    reader.copy(h.count, handle.write)
    sha = handle.commit()
    off = entry.off + drop
    return FileState(h.path, h.rel, h.inode, h.size, h.mtime, off, handle.size, sha,
                     "truncated" if off > 0 else "ok")


def recompressed(writer: HostWriter, previous: HostState | None, spec: SourceSpec, h: Header) -> FileState:
    """Store a rotated ``.gz`` rebuilt by compressing the previous whole copy of its content."""
    entry = _entry(previous, spec, h)
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    handle = writer.create(h.rel)
    _copy_into(_source(previous, entry), handle, transform=packer.compress)
    handle.write(packer.flush())
    sha = handle.commit()
    return FileState(h.path, h.rel, h.inode, h.size, h.mtime, 0, h.size, sha, "ok")
