"""Read the framed stream a collect script writes: header lines, exact-size bodies and base64 sections.

Memory stays bounded: bodies are handed to a writer in chunks, never held whole.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Callable, List, Optional

from fleetaudit.transport.base import ByteStream

CHUNK = 256 * 1024
MAX_LINE = 64 * 1024
MARK = b"@FA\t"


class StreamError(Exception):
    """The host sent something that is not a valid frame."""


class DeadlineExceeded(Exception):
    """The host's overall deadline passed while reading."""


class FrameReader:
    """Buffered reader over a ByteStream with a hard deadline (``time.monotonic()`` instant)."""

    def __init__(self, stream: ByteStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        self.consumed = 0          # bytes handed out so far (header lines + bodies)
        self.last_data = time.monotonic()   # when the host last sent something

    def _fill(self) -> bool:
        """Read one more chunk; return False at end of stream."""
        if self.eof:
            return False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("host deadline reached")
        try:
            chunk = self.stream.read(CHUNK, remaining)
        except TimeoutError as exc:
            raise DeadlineExceeded("host deadline reached while waiting for data") from exc
        if not chunk:
            self.eof = True
            return False
        self.last_data = time.monotonic()
        if self.pos > len(self.buf) // 2:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk
        return True

    def readline(self) -> Optional[bytes]:
        """Return the next line without its newline, or None at end of stream."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.consumed += end + 1 - self.pos
                self.pos = end + 1
                return line
            if len(self.buf) - self.pos > MAX_LINE:
                raise StreamError("a header line is longer than 64 KiB")
            if not self._fill():
                return None

    def copy(self, count: int, write: Callable[[bytes], None]) -> None:
        """Pass exactly ``count`` body bytes to ``write``; raise StreamError if the stream ends first."""
        left = count
        while left > 0:
            if self.pos >= len(self.buf) and not self._fill():
                raise StreamError(f"the stream ended {left} bytes before the end of a body")
            take = min(left, len(self.buf) - self.pos)
            write(bytes(self.buf[self.pos:self.pos + take]))
            self.pos += take
            self.consumed += take
            left -= take

    def base64_until_header(self, write: Callable[[bytes], None]) -> bytes:
        """Decode base64 lines into ``write`` up to the next header line, and return that header line."""
        pending: List[bytes] = []
        while True:
            line = self.readline()
            if line is None:
                raise StreamError("the stream ended inside a command's output")
            if (line.startswith(MARK) or len(pending) >= 512) and pending:
                write(_decode(b"".join(pending)))
                pending = []
            if line.startswith(MARK):
                return line
            pending.append(line)


def _decode(data: bytes) -> bytes:
    """Decode base64, reporting bad input as a StreamError."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StreamError(f"bad base64 in a command's output ({exc})") from exc


def fields(line: bytes) -> List[str]:
    """Split a header line into its fields (after the ``@FA`` mark)."""
    if not line.startswith(MARK):
        raise StreamError(f"expected a header line, got {line[:60]!r}")
    return line[len(MARK):].decode("utf-8", "replace").split("\t")
