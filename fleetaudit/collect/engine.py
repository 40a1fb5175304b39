"""The collect engine: reach every host through a bounded pool and store its sources in a snapshot.

Per host: open one transport (SSH or a local directory), send ONE script that streams every source back in
one framed stream, write the bodies straight into the snapshot, and turn every failure into a status.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import List, Optional, Protocol, Sequence, Set, Tuple, Union

import paramiko

from fleetaudit.collect.frames import DeadlineExceeded, FrameReader, StreamError
from fleetaudit.collect.hostrun import HostCollector
from fleetaudit.collect.progress import ProgressSink
from fleetaudit.collect.script import build_script
from fleetaudit.collect.sources import sources_for
from fleetaudit.collect.state import load_previous, save_state
from fleetaudit.collect.status import host_status
from fleetaudit.model import Host, HostSnapshot, Inventory, RunSnapshot, SourceResult
from fleetaudit.snapshot import HostWriter, RunWriter, new_run_id, utc_now
from fleetaudit.transport.base import ConnectOptions, TransportError
from fleetaudit.transport.local import LocalTransport
from fleetaudit.transport.ssh import SSHTransport, connect

AnyTransport = Union[SSHTransport, LocalTransport]
_STREAM_ERRORS = (StreamError, OSError, EOFError, socket.timeout, paramiko.SSHException, TransportError)


@dataclass(frozen=True)
class CollectOptions:
    """How a collect run behaves: parallelism, time limits, connection settings."""

    jobs: Optional[int] = None             # default min(8, number of hosts)
    connect: ConnectOptions = field(default_factory=ConnectOptions)
    command_timeout: float = 60.0          # per remote command (coreutils ``timeout`` on the host)
    host_deadline: float = 300.0           # whole host, connect included; the connection is cut at this point
    full: bool = False                     # incremental runs: force a complete pull
    run_id: Optional[str] = None           # default: new_run_id()


class LiveTransports:
    """The transports open right now, so that Ctrl-C can close every one of them at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Set[AnyTransport] = set()
        self.aborted = False

    def add(self, transport: AnyTransport) -> None:
        """Register a transport (closed at once when the run was already aborted)."""
        with self._lock:
            self._open.add(transport)
            aborted = self.aborted
        if aborted:
            transport.close()

    def discard(self, transport: AnyTransport) -> None:
        """Forget a transport its worker has closed."""
        with self._lock:
            self._open.discard(transport)

    def abort(self) -> None:
        """Close every open transport (unblocking its worker) and refuse new ones."""
        with self._lock:
            self.aborted = True
            live = list(self._open)
        for transport in live:
            transport.close()


class SnapshotSink(Protocol):
    """Takes each host's snapshot as soon as its files are complete (e.g. to start analysing it at once)."""

    def submit(self, snap: HostSnapshot) -> None:
        """A host is done; its files lie under ``snap.directory``, inside the still partial run directory.

        Called from collect worker threads, so implementations must be thread-safe.
        """
        ...

    def wait(self) -> None:
        """Return when nothing reads the partial run directory any more: it is renamed into place next."""
        ...


def collect(inventory: Inventory, hosts: Sequence[Host], reports_dir: str, options: CollectOptions,
            progress: Optional[ProgressSink] = None, sink: Optional[SnapshotSink] = None) -> RunSnapshot:
    """Collect every host into ``reports_dir/<run-id>/`` and return the run as read back from disk.

    ``sink`` gets every host's snapshot the moment it is complete, and is waited for before the run is
    committed. On KeyboardInterrupt every connection is closed, hosts not started are cancelled, the run is
    left as ``.<run-id>.partial`` (never complete) and the interrupt is re-raised without waiting for the hosts.
    """
    writer = RunWriter(reports_dir, options.run_id or new_run_id(), inventory.path)
    jobs = max(1, options.jobs or min(8, len(hosts) or 1))
    live = LiveTransports()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="collect")
    try:
        futures = [pool.submit(_guarded, inventory, host, writer, options, progress, live, sink) for host in hosts]
        snapshots: List[HostSnapshot] = [f.result() for f in futures]
    except KeyboardInterrupt:
        live.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if sink is not None:
        sink.wait()
    return writer.commit(snapshots)


def _hand_over(sink: Optional[SnapshotSink], writer: RunWriter, snap: HostSnapshot) -> None:
    """Give a finished host's snapshot to the sink, pointing at its files in the partial run directory."""
    if sink is None:
        return
    rel = os.path.relpath(snap.directory, writer.final)
    sink.submit(replace(snap, directory=os.path.join(writer.partial, rel)))


def _guarded(inventory: Inventory, host: Host, writer: RunWriter, options: CollectOptions,
             progress: Optional[ProgressSink], live: Optional[LiveTransports] = None,
             sink: Optional[SnapshotSink] = None) -> HostSnapshot:
    """Collect one host; any unexpected failure becomes status ``error`` (the per-host boundary)."""
    started, t0 = utc_now(), time.monotonic()
    if progress is not None:
        progress.host_started(host.name)
    try:
        snap = _collect_host(inventory, host, writer, options, progress, live or LiveTransports())
    except Exception as exc:  # per-host boundary: one broken host never stops the others
        snap = HostSnapshot(host=host.name, status="error", reason=f"internal error: {type(exc).__name__}: {exc}",
                            directory=os.path.join(writer.final, host.name), groups=host.groups)
    snap = replace(snap, started=started, finished=utc_now(), duration_s=time.monotonic() - t0)
    if progress is not None:
        progress.host_finished(snap)
    _hand_over(sink, writer, snap)
    return snap


def _known_hosts(inventory: Inventory, options: ConnectOptions) -> ConnectOptions:
    """Add the inventory's known_hosts file (relative to the inventory) to the connect options."""
    if not inventory.known_hosts:
        return options
    path = os.path.join(os.path.dirname(os.path.abspath(inventory.path)), os.path.expanduser(inventory.known_hosts))
    return replace(options, extra_known_hosts=options.extra_known_hosts + (path,))


def open_transport(inventory: Inventory, host: Host, options: CollectOptions, deadline: float,
                   live: Optional[LiveTransports] = None) -> AnyTransport:
    """Return the transport for a host: its directory tree, or a verified SSH connection.

    ``live`` registers the transport before it connects, so an abort also cuts a connection in progress.
    """
    if host.path:
        local = LocalTransport(host.path)
        if live is not None:
            live.add(local)
        return local
    return connect(host, _known_hosts(inventory, options.connect), deadline,
                   register=live.add if live is not None else None)


def _collect_host(inventory: Inventory, host: Host, writer: RunWriter, options: CollectOptions,
                  progress: Optional[ProgressSink], live: LiveTransports) -> HostSnapshot:
    """Connect, stream the host's script into its snapshot directory, and decide its status."""
    deadline = time.monotonic() + options.host_deadline
    host_writer = writer.host(host.name)
    try:
        transport = open_transport(inventory, host, options, deadline, live)
    except TransportError as exc:
        return _snapshot(host, host_writer, exc.status, exc.reason)
    try:
        return _stream_host(host, transport, host_writer, options, deadline, progress)
    finally:
        transport.close()
        live.discard(transport)


def _stream_host(host: Host, transport: AnyTransport, host_writer: HostWriter, options: CollectOptions,
                 deadline: float, progress: Optional[ProgressSink]) -> HostSnapshot:
    """Run the host's script and turn its stream into files and results."""
    specs = sources_for(host)
    local = transport.kind == "local"

    def on_source(result: SourceResult) -> None:
        if progress is not None:
            progress.source_done(host.name, result)

    previous = None if options.full else load_previous(os.path.dirname(writer_final(host_writer)), host.name)
    collector = HostCollector(host_writer, specs, host.sudo and not local, on_source, previous)
    script = build_script(host, specs, local=local, command_timeout=options.command_timeout, previous=previous)
    cut = _consume(transport, script, collector, deadline, options.host_deadline)
    results = collector.results(cut)
    if cut:
        status = "timeout" if "deadline" in cut else "error"
        return _snapshot(host, host_writer, status, cut, results)
    save_state(host_writer, collector.file_states, collector.db_state_to_keep())
    status, reason = host_status(results, specs)
    return _snapshot(host, host_writer, status, reason, results)


def writer_final(host_writer: HostWriter) -> str:
    """Return the run directory a host writer publishes into (its parent is the reports directory)."""
    return os.path.dirname(host_writer.directory)


def _consume(transport: AnyTransport, script: str, collector: HostCollector, deadline: float,
             budget: float) -> str:
    """Read the whole stream; return "" when complete, else why it was cut."""
    try:
        stream = transport.open_stream(script)
    except _STREAM_ERRORS as exc:
        return _cut_reason(exc, transport, deadline, budget, "could not start the collect script")
    reader = FrameReader(stream, deadline)
    try:
        collector.consume(reader)
        code, err = stream.finish(max(deadline - time.monotonic(), 1.0))
    except (DeadlineExceeded, *_STREAM_ERRORS) as exc:
        stream.abort()
        return "" if collector.ended else _cut_reason(exc, transport, deadline, budget, "the stream broke", reader)
    if collector.ended:
        return ""
    if _past_deadline(transport, deadline):
        return _deadline_reason(budget, reader)
    if code is None or code < 0:
        return f"connection lost after {reader.consumed} bytes (the host closed it before the end of the stream)"
    detail = err.decode("utf-8", "replace").strip().splitlines()[:1]
    return f"the collect script stopped early (exit {code}{': ' + detail[0] if detail else ''})"


def _past_deadline(transport: AnyTransport, deadline: float) -> bool:
    """Return True when the host's deadline has passed (the watchdog may have closed the connection)."""
    return bool(getattr(transport, "expired", False)) or time.monotonic() >= deadline - 0.05


def _deadline_reason(budget: float, reader: Optional[FrameReader]) -> str:
    """Explain a cut at the host deadline: how long the host had been silent, or that it was still sending."""
    if reader is None:
        return f"no answer for {budget:.0f} s (host deadline)"
    idle = time.monotonic() - reader.last_data
    if idle >= 1.0:
        return f"no answer for {idle:.0f} s (host deadline of {budget:.0f} s; {reader.consumed} bytes received)"
    return f"still sending at its {budget:.0f} s host deadline ({reader.consumed} bytes received)"


def _cut_reason(exc: BaseException, transport: AnyTransport, deadline: float, budget: float, what: str,
                reader: Optional[FrameReader] = None) -> str:
    """Explain why a host's stream stopped: its deadline, a lost connection, or an error."""
    if isinstance(exc, DeadlineExceeded) or _past_deadline(transport, deadline):
        return _deadline_reason(budget, reader)
    text = " ".join(str(exc).split())[:300]
    if reader is not None and (reader.eof or isinstance(exc, (EOFError, OSError, paramiko.SSHException))):
        return f"connection lost after {reader.consumed} bytes ({type(exc).__name__}{': ' + text if text else ''})"
    return f"{what}: {type(exc).__name__}: {text}"


def _snapshot(host: Host, writer: HostWriter, status: str, reason: str,
              results: Tuple[SourceResult, ...] = ()) -> HostSnapshot:
    """Return a host's snapshot record."""
    return HostSnapshot(host=host.name, status=status, reason=reason, directory=writer.directory,
                        sources=results, groups=host.groups)
