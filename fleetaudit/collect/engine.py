"""The collect engine: reach every host through a bounded pool and store its sources in a snapshot.

Per host: open one transport (SSH or a local directory), send ONE script that streams every source back in
one framed stream, write the bodies straight into the snapshot, and turn every failure into a status.
"""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence, Tuple, Union

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


def collect(inventory: Inventory, hosts: Sequence[Host], reports_dir: str, options: CollectOptions,
            progress: Optional[ProgressSink] = None) -> RunSnapshot:
    """Collect every host into ``reports_dir/<run-id>/`` and return the run as read back from disk."""
    writer = RunWriter(reports_dir, options.run_id or new_run_id(), inventory.path)
    jobs = max(1, options.jobs or min(8, len(hosts) or 1))
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="collect") as pool:
        futures = [pool.submit(_guarded, inventory, host, writer, options, progress) for host in hosts]
        snapshots = [f.result() for f in futures]
    return writer.commit(snapshots)


def _guarded(inventory: Inventory, host: Host, writer: RunWriter, options: CollectOptions,
             progress: Optional[ProgressSink]) -> HostSnapshot:
    """Collect one host; any unexpected failure becomes status ``error`` (the per-host boundary)."""
    started, t0 = utc_now(), time.monotonic()
    if progress is not None:
        progress.host_started(host.name)
    try:
        snap = _collect_host(inventory, host, writer, options, progress)
    except Exception as exc:  # per-host boundary: one broken host never stops the others
        snap = HostSnapshot(host=host.name, status="error", reason=f"internal error: {type(exc).__name__}: {exc}",
                            directory=os.path.join(writer.final, host.name), groups=host.groups)
    snap = replace(snap, started=started, finished=utc_now(), duration_s=time.monotonic() - t0)
    if progress is not None:
        progress.host_finished(snap)
    return snap


def _known_hosts(inventory: Inventory, options: ConnectOptions) -> ConnectOptions:
    """Add the inventory's known_hosts file (relative to the inventory) to the connect options."""
    if not inventory.known_hosts:
        return options
    path = os.path.join(os.path.dirname(os.path.abspath(inventory.path)), os.path.expanduser(inventory.known_hosts))
    return replace(options, extra_known_hosts=options.extra_known_hosts + (path,))


def open_transport(inventory: Inventory, host: Host, options: CollectOptions, deadline: float) -> AnyTransport:
    """Return the transport for a host: its directory tree, or a verified SSH connection."""
    if host.path:
        return LocalTransport(host.path)
    return connect(host, _known_hosts(inventory, options.connect), deadline)


def _collect_host(inventory: Inventory, host: Host, writer: RunWriter, options: CollectOptions,
                  progress: Optional[ProgressSink]) -> HostSnapshot:
    """Connect, stream the host's script into its snapshot directory, and decide its status."""
    deadline = time.monotonic() + options.host_deadline
    host_writer = writer.host(host.name)
    try:
        transport = open_transport(inventory, host, options, deadline)
    except TransportError as exc:
        return _snapshot(host, host_writer, exc.status, exc.reason)
    try:
        return _stream_host(host, transport, host_writer, options, deadline, progress)
    finally:
        transport.close()


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
        return _cut_reason(exc, deadline, budget, "could not start the collect script")
    try:
        collector.consume(FrameReader(stream, deadline))
    except (DeadlineExceeded, *_STREAM_ERRORS) as exc:
        stream.abort()
        return _cut_reason(exc, deadline, budget, "the stream broke")
    code, err = stream.finish(max(deadline - time.monotonic(), 1.0))
    if collector.ended:
        return ""
    detail = err.decode("utf-8", "replace").strip().splitlines()[:1]
    return f"the collect script stopped early (exit {code}{': ' + detail[0] if detail else ''})"


def _cut_reason(exc: BaseException, deadline: float, budget: float, what: str) -> str:
    """Explain why a host's stream stopped: its deadline, or an error."""
    if isinstance(exc, DeadlineExceeded) or time.monotonic() >= deadline - 0.05:
        return f"stopped at its {budget:.0f} s host deadline"
    return f"{what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def _snapshot(host: Host, writer: HostWriter, status: str, reason: str,
              results: Tuple[SourceResult, ...] = ()) -> HostSnapshot:
    """Return a host's snapshot record."""
    return HostSnapshot(host=host.name, status=status, reason=reason, directory=writer.directory,
                        sources=results, groups=host.groups)
