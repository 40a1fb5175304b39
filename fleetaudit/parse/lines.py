"""Streaming line reader shared by every parser: bounded lines, counted damage, never raises."""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from typing import IO, Iterator, List, Tuple

from fleetaudit.facts import ReadStats

LINE_CAP = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class StatsBuilder:
    """Mutable counterpart of ``facts.ReadStats`` filled while a source is read."""

    source: str
    files: List[str] = field(default_factory=list)
    lines: int = 0
    bad_lines: int = 0
    undecodable_lines: int = 0
    nul_lines: int = 0
    oversized_lines: int = 0
    truncated_gzip: List[str] = field(default_factory=list)
    ended_mid_line: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)

    def freeze(self) -> ReadStats:
        """Return the frozen ``ReadStats``."""
        return ReadStats(self.source, tuple(self.files), self.lines, self.bad_lines, self.undecodable_lines,
                         self.nul_lines, self.oversized_lines, tuple(self.truncated_gzip),
                         tuple(self.ended_mid_line), tuple(self.errors))


def _open(path: str) -> IO[bytes]:
    """Open a file for binary reading, transparently gunzipping gzip data."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile owns and closes its file
    return open(path, "rb")  # noqa: SIM115 - closed by the caller


def _raw_lines(handle: IO[bytes], cap: int) -> Iterator[Tuple[bytes, int, bool]]:
    """Yield (line clipped to ``cap``, full size in bytes, oversized) for each line of ``handle``."""
    while True:
        chunk = handle.readline(cap)
        if not chunk:
            return
        size = len(chunk)
        if chunk.endswith(b"\n") or len(chunk) < cap:
            yield chunk, size, False
            continue
        rest = chunk
        while rest and not rest.endswith(b"\n"):
            rest = handle.readline(cap)
            size += len(rest)
        yield chunk + (b"\n" if rest.endswith(b"\n") else b""), size, True


def decode(raw: bytes, stats: StatsBuilder) -> str:
    """Decode one raw line as UTF-8 (replacing bad bytes), counting NULs and bad bytes."""
    if b"\x00" in raw:
        stats.nul_lines += 1
        raw = raw.replace(b"\x00", b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.undecodable_lines += 1
        return raw.decode("utf-8", errors="replace")


def iter_lines(path: str, rel: str, stats: StatsBuilder, cap: int = LINE_CAP) -> Iterator[Tuple[int, str, int]]:
    """Yield (line number, text without EOL, raw size) for each line of a file or gzip file.

    Damage is counted in ``stats``: a truncated gzip keeps what was read, an unreadable file is an error line.
    """
    stats.files.append(rel)
    try:
        handle = _open(path)
    except OSError as exc:
        stats.errors.append(f"{rel}: {exc.strerror or exc}")
        return
    with handle:
        yield from _decoded(handle, rel, stats, cap)


def _decoded(handle: IO[bytes], rel: str, stats: StatsBuilder, cap: int) -> Iterator[Tuple[int, str, int]]:
    """Decode the raw lines of one open file, recording truncation and a missing final newline."""
    lineno = 0
    last = b"\n"
    try:
        for raw, size, oversized in _raw_lines(handle, cap):
            lineno += 1
            stats.lines += 1
            stats.oversized_lines += oversized
            last = raw
            yield lineno, decode(raw, stats).rstrip("\r\n"), size
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        stats.truncated_gzip.append(rel)
        stats.errors.append(f"{rel}: compressed data cut short after line {lineno} ({exc})")
        return
    except OSError as exc:
        stats.errors.append(f"{rel}: read error after line {lineno} ({exc})")
        return
    if not last.endswith(b"\n"):
        stats.ended_mid_line.append(rel)


def read_text(path: str, cap: int = 4 * 1024 * 1024) -> str | None:
    """Return a small file's text (capped, bad bytes replaced, NULs dropped), or None when unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(cap)
    except OSError:
        return None
    return data.replace(b"\x00", b"").decode("utf-8", errors="replace")


def rotation_order(names: List[str], base: str) -> List[str]:
    """Order one log family oldest first: base-YYYYMMDD..., base.N.gz ... base.1, then base itself."""

    def key(name: str) -> Tuple[int, int, str]:
        tail = os.path.basename(name)[len(base):]
        if not tail:
            return (2, 0, "")
        number = tail.lstrip(".").split(".", 1)[0]
        if tail.startswith(".") and number.isdigit():
            return (1, -int(number), "")
        return (0, 0, tail)

    return sorted(names, key=key)
