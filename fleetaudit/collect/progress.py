"""Progress of a collect run: a live display on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Dict, Optional, Protocol, TextIO, Type

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from fleetaudit.model import HostSnapshot, SourceResult
from fleetaudit.units import human_bytes


class ProgressSink(Protocol):
    """Receives collect events; called from worker threads, so implementations must be thread-safe."""

    def host_started(self, host: str) -> None:
        """A worker started on a host."""
        ...

    def source_done(self, host: str, result: SourceResult) -> None:
        """One source of a host has arrived (or failed)."""
        ...

    def host_finished(self, snapshot: HostSnapshot) -> None:
        """A host is done; ``snapshot.status`` says how it went."""
        ...


def summary_line(snap: HostSnapshot) -> str:
    """Return the one-line summary of a host: ``name: ok (23 sources, 1.2 MB, 0.8 s)``."""
    stored = sum(s.bytes for s in snap.sources)
    line = f"{snap.host}: {snap.status} ({len(snap.sources)} sources, {human_bytes(stored)}, {snap.duration_s:.1f} s)"
    return line + (f" - {snap.reason}" if snap.reason else "")


class PlainProgress:
    """One log line per finished host (and per started host when verbose)."""

    def __init__(self, stream: TextIO = sys.stderr, verbose: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        """Write one line."""
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def host_started(self, host: str) -> None:
        """Log the start when verbose."""
        if self.verbose:
            self._say(f"{host}: collecting")

    def source_done(self, host: str, result: SourceResult) -> None:
        """Log a failed source when verbose."""
        if self.verbose and result.status not in ("ok", "unchanged"):
            self._say(f"{host}: {result.name} {result.status} {result.reason}".rstrip())

    def host_finished(self, snapshot: HostSnapshot) -> None:
        """Log the host's summary line."""
        self._say(summary_line(snapshot))


class RichProgress:
    """A live rich display: one bar for the fleet, one line per host in flight (use as a context manager)."""

    def __init__(self, total_hosts: int, sources_per_host: int, stream: TextIO = sys.stderr) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=stream), transient=False)
        self.fleet = self.progress.add_task("hosts", total=total_hosts)
        self.per_host = sources_per_host
        self.tasks: Dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.progress.stop()

    def host_started(self, host: str) -> None:
        """Add a line for the host."""
        with self._lock:
            self.tasks[host] = self.progress.add_task(f"  {host}", total=self.per_host)

    def source_done(self, host: str, result: SourceResult) -> None:
        """Advance the host's line."""
        with self._lock:
            task = self.tasks.get(host)
        if task is not None:
            self.progress.advance(task)

    def host_finished(self, snapshot: HostSnapshot) -> None:
        """Replace the host's line by its summary and advance the fleet bar."""
        with self._lock:
            task = self.tasks.pop(snapshot.host, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.console.print(summary_line(snapshot), markup=False, highlight=False)
        self.progress.advance(self.fleet)


def make_progress(total_hosts: int, sources_per_host: int = 25, stream: TextIO = sys.stderr,
                  verbose: bool = False) -> PlainProgress | RichProgress:
    """Return a rich display on a terminal, plain lines otherwise (enter a RichProgress with ``with``)."""
    if stream.isatty():
        return RichProgress(total_hosts, sources_per_host, stream)
    return PlainProgress(stream, verbose)
