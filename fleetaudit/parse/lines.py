"""Streaming line reader shared by every parser: bounded lines, counted damage, never raises."""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from typing import IO, Generator, Iterator, List, Optional, Tuple

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


BLOCK = 1 << 20
BATCH = 4096
Block = Tuple[List[str], List[int]]


def _open(path: str) -> IO[bytes]:
    """Open a file for binary reading: unbuffered for plain files, a GzipFile for gzip data (by magic)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile owns and closes its file
    return open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller


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


def _one(raw: bytes, size: int, oversized: bool, stats: StatsBuilder) -> str:
    """Decode one odd line (clipped, or last without EOL) exactly as a whole line is decoded."""
    stats.lines += 1
    stats.oversized_lines += oversized
    return decode(raw, stats).rstrip("\r\n")


def _slow_block(blk: bytes, stats: StatsBuilder, cap: int) -> Block:
    """Decode complete lines one by one: the block holds a NUL, bad UTF-8 or an oversized line."""
    parts = blk.split(b"\n")
    parts.pop()
    texts = [_one(p[:cap], len(p) + 1, len(p) >= cap, stats) for p in parts]
    return texts, [len(p) + 1 for p in parts]


def _block(blk: bytes, stats: StatsBuilder, cap: int) -> Block:
    """Decode a run of complete lines (each ending in LF) at once; clean UTF-8 without NULs is the fast path."""
    text = None
    if b"\x00" not in blk:
        try:
            text = blk.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None:
        return _slow_block(blk, stats, cap)
    texts = text.split("\n")
    texts.pop()
    if len(text) == len(blk):
        sizes = [len(t) + 1 for t in texts]
    else:
        sizes = [len(t) + 1 if t.isascii() else len(t.encode("utf-8")) + 1 for t in texts]
    if len(blk) >= cap and max(sizes) > cap:
        return _slow_block(blk, stats, cap)
    stats.lines += len(texts)
    if "\r" in text:
        texts = [t.rstrip("\r") for t in texts]
    return texts, sizes


def _plain_blocks(handle: IO[bytes], stats: StatsBuilder, cap: int) -> Generator[Block, None, bool]:
    """Read a plain file in large chunks; a line longer than ``cap`` is clipped without being held whole.

    Returns True when the file ended in the middle of a line.
    """
    tail = b""
    long_head: Optional[bytes] = None
    long_size = 0
    while True:
        chunk = handle.read(BLOCK)
        if not chunk:
            break
        if long_head is not None:
            cut = chunk.find(b"\n")
            if cut < 0:
                long_size += len(chunk)
                continue
            yield [_one(long_head, long_size + cut + 1, True, stats)], [long_size + cut + 1]
            long_head, chunk = None, chunk[cut + 1:]
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield _block(data[:cut], stats, cap)
        tail = data[cut:]
        if len(tail) > cap:
            long_head, long_size, tail = tail[:cap], len(tail), b""
    if long_head is not None:
        yield [_one(long_head, long_size, True, stats)], [long_size]
        return True
    if tail:
        yield [_one(tail[:cap], len(tail), len(tail) >= cap, stats)], [len(tail)]
    return bool(tail)


def _gzip_blocks(handle: IO[bytes], stats: StatsBuilder, cap: int) -> Generator[Block, None, bool]:
    """Read a gzip file line by line (so damage cuts it exactly where it always did), decoding in batches.

    Returns True when the data ended in the middle of a line.
    """
    batch: List[bytes] = []
    last = b"\n"
    try:
        for raw, size, oversized in _raw_lines(handle, cap):
            last = raw
            if oversized or not raw.endswith(b"\n"):
                if batch:
                    yield _block(b"".join(batch), stats, cap)
                    batch = []
                yield [_one(raw, size, oversized, stats)], [size]
            else:
                batch.append(raw)
                if len(batch) >= BATCH:
                    yield _block(b"".join(batch), stats, cap)
                    batch = []
    except (EOFError, OSError, zlib.error):
        if batch:
            yield _block(b"".join(batch), stats, cap)
        raise
    if batch:
        yield _block(b"".join(batch), stats, cap)
    return not last.endswith(b"\n")


def iter_blocks(path: str, rel: str, stats: StatsBuilder, cap: int = LINE_CAP) -> Iterator[Block]:
    """Yield the lines of a file or gzip file in blocks: (texts without EOL, raw sizes).

    Exactly the lines, sizes and damage counts of ``iter_lines``, for callers that loop over many lines.
    """
    stats.files.append(rel)
    try:
        handle = _open(path)
    except OSError as exc:
        stats.errors.append(f"{rel}: {exc.strerror or exc}")
        return
    with handle:
        yield from _guarded(handle, rel, stats, cap)


def _guarded(handle: IO[bytes], rel: str, stats: StatsBuilder, cap: int) -> Iterator[Block]:
    """Run the right block reader, recording truncation, read errors and a missing final newline."""
    start = stats.lines
    reader = _gzip_blocks if isinstance(handle, gzip.GzipFile) else _plain_blocks
    try:
        mid_line = yield from reader(handle, stats, cap)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        stats.truncated_gzip.append(rel)
        stats.errors.append(f"{rel}: compressed data cut short after line {stats.lines - start} ({exc})")
        return
    except OSError as exc:
        stats.errors.append(f"{rel}: read error after line {stats.lines - start} ({exc})")
        return
    if mid_line:
        stats.ended_mid_line.append(rel)


def iter_lines(path: str, rel: str, stats: StatsBuilder, cap: int = LINE_CAP) -> Iterator[Tuple[int, str, int]]:
    """Yield (line number, text without EOL, raw size) for each line of a file or gzip file.

    Damage is counted in ``stats``: a truncated gzip keeps what was read, an unreadable file is an error line.
    """
    lineno = 0
    for texts, sizes in iter_blocks(path, rel, stats, cap):
        for text, size in zip(texts, sizes):
            lineno += 1
            yield lineno, text, size


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
