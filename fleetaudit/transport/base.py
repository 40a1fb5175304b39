"""The transport contract: how the collect engine talks to one host.

A transport is opened once per host and reused for every source; the engine sends one script and reads one
framed byte stream back (``open_stream``), and ``run`` exists for single small commands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Protocol, Tuple

TRANSPORT_STATUSES: Tuple[str, ...] = (
    "unreachable", "auth_failed", "hostkey_unknown", "hostkey_changed", "timeout", "error",
)

DEFAULT_TRUST_FILE = "~/.config/fleetaudit/known_hosts"
DEFAULT_USER_KNOWN_HOSTS = "~/.ssh/known_hosts"


class TransportError(Exception):
    """A host could not be reached or used; ``status`` is one of TRANSPORT_STATUSES, ``reason`` one line."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        if status not in TRANSPORT_STATUSES:
            raise ValueError(f"unknown transport status {status!r}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class CommandResult:
    """What one command produced: capped stdout, stderr, exit code and what went wrong."""

    stdout: bytes
    stderr: bytes
    exit_code: Optional[int]
    truncated: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class ConnectOptions:
    """How to open SSH connections: timeouts, host-key trust and key sources."""

    connect_timeout: float = 10.0          # TCP connect
    banner_timeout: float = 10.0           # wait for the server's SSH banner (a tarpit stalls here)
    auth_timeout: float = 15.0
    trust_new_hosts: bool = False          # trust on first use: record unknown keys in trust_file
    trust_file: str = DEFAULT_TRUST_FILE   # fleetaudit's own known_hosts (read, and written on TOFU)
    user_known_hosts: Optional[str] = DEFAULT_USER_KNOWN_HOSTS
    extra_known_hosts: Tuple[str, ...] = ()  # e.g. the inventory's known_hosts file
    allow_agent: bool = True
    look_for_keys: bool = True
    use_ssh_config: bool = True            # apply ~/.ssh/config (or ssh_config_path) to each host
    ssh_config_path: Optional[str] = None  # None: ~/.ssh/config

    def known_hosts_files(self, host_file: Optional[str] = None) -> Tuple[str, ...]:
        """Return every known_hosts file to load, expanded, in order (later files add keys)."""
        files = [self.user_known_hosts] + list(self.extra_known_hosts) + [host_file, self.trust_file]
        return tuple(os.path.expanduser(f) for f in files if f)


class ByteStream(Protocol):
    """A running remote script: read its stdout in chunks, then its exit status."""

    def read(self, size: int, timeout: float) -> bytes:
        """Return up to ``size`` bytes (b"" at end of stream); raise TimeoutError after ``timeout`` s."""
        ...

    def finish(self, timeout: float) -> Tuple[Optional[int], bytes]:
        """Wait for the exit status; return it with up to 64 KiB of stderr."""
        ...

    def abort(self) -> None:
        """Stop reading and release the stream."""
        ...


class Transport(Protocol):
    """One open connection to one host, reused for all its sources."""

    kind: str                              # "ssh" | "local"

    def run(self, command: str, timeout: float, max_bytes: int) -> CommandResult:
        """Run one shell command; return its capped stdout, stderr and exit code."""
        ...

    def open_stream(self, script: str) -> ByteStream:
        """Start ``script`` (POSIX sh) and return its stdout as a stream."""
        ...

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...


def read_all(stream: ByteStream, timeout: float, max_bytes: int) -> Tuple[bytes, bool]:
    """Read a stream to its end, keeping at most ``max_bytes``; return the bytes and a truncated flag."""
    chunks: List[bytes] = []
    kept = 0
    truncated = False
    while True:
        chunk = stream.read(65536, timeout)
        if not chunk:
            return b"".join(chunks), truncated
        room = max_bytes - kept
        if len(chunk) > room:
            truncated = True
            chunk = chunk[:max(room, 0)]
        kept += len(chunk)
        chunks.append(chunk)
