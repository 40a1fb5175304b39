"""Local transport: audit a host from a directory tree (a mounted SD card, a copied root file system).

The collect script runs under the workstation's ``/bin/sh`` with ``FA_ROOT`` set to the tree, so every file
source is read below it and nothing outside it is followed (symlinks are not read on a local host).
What a directory cannot give: live state. Commands that describe a running system (``ps``, ``uname``,
``date``, ``systemctl``, ``journalctl``) are reported as ``missing`` with the reason "not available for a
local (directory) host"; a few are answered from files (``hostname`` from etc/hostname, ``log_files``,
``unit_links`` and ``unit_owners`` from the tree), and ``df``/``df_inodes`` by the real ``df -P`` (``-i``) of
``<root>/var/log`` and ``<root>`` (a mounted SD card's partitions), mount points shown as the host sees them;
see ``fleetaudit.collect.script.LOCAL_COMMANDS``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from typing import List, Optional, Tuple

from fleetaudit.transport.base import ByteStream, CommandResult, TransportError, read_all


class ProcessStream:
    """The stdout of a local ``sh`` process."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def read(self, size: int, timeout: float) -> bytes:
        """Return up to ``size`` bytes; raise TimeoutError when nothing arrives within ``timeout`` s."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
        if not ready:
            raise TimeoutError(f"no data within {timeout:.0f} s")
        return os.read(fd, size)

    def finish(self, timeout: float) -> Tuple[Optional[int], bytes]:
        """Wait for the exit status and return it with up to 64 KiB of stderr."""
        try:
            code = self.proc.wait(max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            self.abort()
            return None, b""
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read(65536)

    def abort(self) -> None:
        """Kill the process and reap it; safe to call twice."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):    # it ended between poll() and killpg()
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class LocalTransport:
    """A host given as a directory: commands run locally with ``FA_ROOT`` pointing at the tree."""

    kind = "local"

    def __init__(self, root_dir: str) -> None:
        if not os.path.isdir(root_dir):
            raise TransportError("unreachable", f"{root_dir}: not a directory")
        self.root = os.path.realpath(root_dir)
        self.streams: List[ProcessStream] = []

    def open_stream(self, script: str) -> ByteStream:
        """Run ``script`` with ``/bin/sh`` in the tree; return its stdout."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "FA_ROOT": self.root}
        proc = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=self.root, env=env, start_new_session=True)
        stream = ProcessStream(proc)
        self.streams.append(stream)
        return stream

    def run(self, command: str, timeout: float, max_bytes: int) -> CommandResult:
        """Run one command in the tree (``$FA_ROOT`` is the tree); return capped stdout and the exit code."""
        stream = self.open_stream(command)
        started = time.monotonic()
        try:
            out, truncated = read_all(stream, timeout, max_bytes)
        except TimeoutError:
            stream.abort()
            return CommandResult(b"", b"", None, timed_out=True)
        code, err = stream.finish(timeout - (time.monotonic() - started))
        return CommandResult(out, err, code, truncated=truncated, timed_out=code is None)

    def close(self) -> None:
        """Kill any script still running in the tree (a directory itself needs no closing); safe to call twice."""
        for stream in self.streams:
            stream.abort()
        self.streams = []
