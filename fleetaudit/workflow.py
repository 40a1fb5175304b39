"""What each command does, wired from the stages: inventory, lock, collect, analyze, history, reports."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Tuple

import click
from tabulate import tabulate

from fleetaudit.cli import EXIT_HOST_FAILED, EXIT_OK, UserError, is_tty
from fleetaudit.collect.engine import CollectOptions, SnapshotSink, collect
from fleetaudit.collect.progress import make_progress
from fleetaudit.history import History, HistoryError, RunDiff, RunInfo
from fleetaudit.inventory import InventoryError, load_inventory
from fleetaudit.lock import LockHeld, RunLock
from fleetaudit.model import FleetReport, Host, Inventory, RunSnapshot, severity_rank
from fleetaudit.notify import notify
from fleetaudit.pipeline import Analyzer
from fleetaudit.report.html import Mapper, render_html
from fleetaudit.report.jsonout import render_json
from fleetaudit.report.table import render_table
from fleetaudit.retention import prune, update_latest
from fleetaudit.snapshot import SnapshotError, read_run
from fleetaudit.transport.base import ConnectOptions

FAILED_STATUSES = ("unreachable", "auth_failed", "hostkey_unknown", "hostkey_changed", "timeout", "error")


class WorkstationError(click.ClickException):
    """The workstation side failed (reports directory full or read-only): exit status 2."""

    exit_code = EXIT_HOST_FAILED


@dataclass(frozen=True)
class RunArgs:
    """The options of `run` and `collect`, typed."""

    inventory: str = "inventory.yaml"
    reports: str = "reports"
    jobs: Optional[int] = None
    hosts: Optional[str] = None
    verbose: int = 0
    trust_new_hosts: bool = False
    full: bool = False
    connect_timeout: float = 10.0
    deadline: float = 300.0
    fail_on: str = "warning"
    fmt: str = "table"
    output: Optional[str] = None
    keep: int = 30
    notify_cmd: Optional[str] = None
    tty: bool = False

    @classmethod
    def from_options(cls, opts: Mapping[str, object]) -> RunArgs:
        """Build from click's keyword options, ignoring those this dataclass lacks."""
        known = {k: v for k, v in opts.items() if k in cls.__dataclass_fields__}
        return replace(cls(tty=is_tty()), **known)  # type: ignore[arg-type]


def load(path: str) -> Inventory:
    """Load the inventory or fail with one line and exit status 3."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no such inventory file (use -i FILE, see docs/inventory.md)")
    try:
        return load_inventory(path)
    except InventoryError as exc:
        raise UserError(str(exc)) from exc


def select(inventory: Inventory, spec: Optional[str]) -> Tuple[Host, ...]:
    """Return the hosts named by --hosts (names or groups), all when not given."""
    if not spec:
        return inventory.hosts
    wanted = set()
    by_name = {h.name: h for h in inventory.hosts}
    for word in (w.strip() for w in spec.split(",") if w.strip()):
        if word in by_name:
            wanted.add(word)
        elif word in inventory.groups:
            wanted.update(inventory.groups[word])
        else:
            raise UserError(f"--hosts: '{word}' is neither a host nor a group of {inventory.path}")
    return tuple(h for h in inventory.hosts if h.name in wanted)


def collect_options(args: RunArgs, inventory: Inventory) -> CollectOptions:
    """Translate command options into the engine's options."""
    extra = (inventory.known_hosts,) if inventory.known_hosts else ()
    connect = ConnectOptions(connect_timeout=args.connect_timeout, trust_new_hosts=args.trust_new_hosts,
                             extra_known_hosts=extra)
    return CollectOptions(jobs=args.jobs, connect=connect, host_deadline=args.deadline, full=args.full)


def private_dir(path: str) -> None:
    """Create the reports directory 0700 (reports hold host logs)."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create the reports directory: {exc.strerror}") from exc


def do_collect(args: RunArgs, inventory: Inventory, hosts: Sequence[Host],
               sink: Optional[SnapshotSink] = None) -> RunSnapshot:
    """Collect, turning a workstation-side write failure (disk full, read-only) into exit status 2."""
    try:
        return _collect(args, inventory, hosts, sink)
    except OSError as exc:
        raise WorkstationError(local_write_error(args.reports, exc)) from exc


def _collect(args: RunArgs, inventory: Inventory, hosts: Sequence[Host], sink: Optional[SnapshotSink]) -> RunSnapshot:
    """Collect with a progress display on a terminal, plain lines with -v, silence otherwise."""
    options = collect_options(args, inventory)
    if not (args.tty or args.verbose):
        return collect(inventory, hosts, args.reports, options, None, sink)
    progress = make_progress(len(hosts), verbose=args.verbose > 0)
    if hasattr(progress, "__enter__"):
        with progress:  # type: ignore[union-attr]
            return collect(inventory, hosts, args.reports, options, progress, sink)
    return collect(inventory, hosts, args.reports, options, progress, sink)


def write_reports(report: FleetReport, run_dir: str, mapper: Optional[Mapper] = None) -> None:
    """Write report.json and report.html into the run directory, each atomically, 0600.

    ``mapper`` draws the HTML's charts (``Analyzer.map``: in its worker processes).
    """
    for name, text in (("report.json", render_json(report)), ("report.html", render_html(report, mapper))):
        final = os.path.join(run_dir, name)
        tmp = final + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, final)


def render(report: FleetReport, fmt: str, color: bool) -> str:
    """Render the report in the chosen format."""
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        return render_html(report)
    return render_table(report, color=color)


def emit(report: FleetReport, args: RunArgs, run_dir: str, explicit: bool) -> None:
    """Print the report (terminal, or an explicit format/output) and always one summary line.

    The summary goes to standard error when standard output carries JSON or HTML.
    """
    machine = False
    if args.output:
        Path(args.output).write_text(render(report, args.fmt, False), encoding="utf-8")
    elif args.tty or explicit or args.verbose:
        click.echo(render(report, args.fmt, args.tty and args.fmt == "table"))
        machine = args.fmt != "table"
    click.echo(summary(report, run_dir), err=machine)


def summary(report: FleetReport, run_dir: str) -> str:
    """Return the one-line summary of a run."""
    hosts = report.hosts
    failed = [h.name for h in hosts if h.status in FAILED_STATUSES]
    findings = [f for h in hosts for f in h.findings]
    new = sum(1 for f in findings if f.status == "new")
    at_or_above = sum(1 for f in findings if severity_rank(f.severity) >= severity_rank(report.fail_on))
    text = (f"fleetaudit: {len(hosts)} hosts, {len(hosts) - len(failed)} audited"
            f"{' (not audited: ' + ', '.join(failed) + ')' if failed else ''}; {len(findings)} findings, "
            f"{at_or_above} at or above {report.fail_on}, {new} new, {len(report.resolved)} resolved; "
            f"report: {os.path.join(run_dir, 'report.html')}; exit {report.exit_status}")
    return text


def mark_new(report: FleetReport, reports: str) -> FleetReport:
    """Mark findings new/ongoing/resolved against the previous run (reads the history only)."""
    with History(os.path.join(reports, "history.db")) as history:
        if history.notice:
            click.echo(f"fleetaudit: {history.notice}", err=True)
        return history.mark(report)


def record_run(report: FleetReport, run: RunSnapshot, reports: str) -> None:
    """Record the run in the history (one transaction: a failure leaves the history as it was)."""
    with History(os.path.join(reports, "history.db")) as history:
        history.record(report, run)


def new_things(report: FleetReport) -> bool:
    """Return whether something new appeared (a new finding or a host status change)."""
    return any(f.status == "new" for h in report.hosts for f in h.findings) or any(
        h.status_note for h in report.hosts)


def local_write_error(reports: str, exc: OSError) -> str:
    """Return the one-line message for a failure to write on the workstation (full or read-only disk...)."""
    where = exc.filename or reports
    return (f"{where}: {exc.strerror or exc}; the run was not completed (earlier runs, 'latest' and the "
            f"history are unchanged)")


def run_command(args: RunArgs) -> int:
    """`fleetaudit run`: collect, analyze, write reports, record history, print, notify."""
    inventory = load(args.inventory)
    hosts = select(inventory, args.hosts)
    # The analysis workers start first: a process forked while the lock is held would inherit the lock.
    with Analyzer(inventory, len(hosts)) as analyzer, locked(args.reports):
        run = do_collect(args, inventory, hosts, analyzer)   # each host is analysed as soon as it is collected
        try:
            report = mark_new(analyzer.report(run, args.fail_on), args.reports)
            # reports first: the history never names a run without one; the charts are drawn by the workers
            write_reports(report, run.directory, analyzer.map)
            record_run(report, run, args.reports)
            update_latest(args.reports)
            prune(args.reports, args.keep)
        except OSError as exc:
            raise WorkstationError(local_write_error(args.reports, exc)) from exc
    emit(report, args, run.directory, explicit=args.fmt != "table")
    if args.notify_cmd and new_things(report):
        result = notify(args.notify_cmd, render_table(report, color=False))
        if not result.ok:
            click.echo(f"fleetaudit: --notify failed: {result.error}", err=True)
    return report.exit_status


@contextlib.contextmanager
def locked(reports: str) -> Iterator[None]:
    """Hold the run lock on the reports directory; a held lock or an unwritable directory is exit 3."""
    private_dir(reports)
    try:
        lock = RunLock(reports)
        lock.acquire()
    except LockHeld as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(local_write_error(reports, exc)) from exc
    try:
        yield
    except KeyboardInterrupt:
        click.echo("fleetaudit: interrupted; this run is left incomplete and will not become latest", err=True)
        raise
    finally:
        lock.release()


def collect_command(args: RunArgs) -> int:
    """`fleetaudit collect`: only the snapshot; exit 2 when a host could not be audited."""
    inventory = load(args.inventory)
    hosts = select(inventory, args.hosts)
    with locked(args.reports):
        run = do_collect(args, inventory, hosts)
    failed = [h for h in run.hosts if h.status in FAILED_STATUSES]
    click.echo(f"fleetaudit: snapshot {run.directory}: {len(run.hosts) - len(failed)} of {len(run.hosts)} hosts "
               f"collected")
    return EXIT_HOST_FAILED if failed else EXIT_OK


def analyze_command(run_dir: str, inventory_path: Optional[str], fail_on: str, fmt: str,
                    output: Optional[str], write: bool) -> int:
    """`fleetaudit analyze|report RUN_DIR`: offline analysis of a snapshot."""
    try:
        run = read_run(run_dir)
    except SnapshotError as exc:
        raise UserError(str(exc)) from exc
    path = inventory_path or run.inventory_path
    inventory = load(path) if inventory_path or (path and os.path.exists(path)) else None
    with Analyzer(inventory, len(run.hosts)) as analyzer:
        report = analyzer.report(run, fail_on)
        if write:
            write_reports(report, run.directory, analyzer.map)
    args = RunArgs(fail_on=fail_on, fmt=fmt, output=output, tty=is_tty())
    emit(report, args, run.directory, explicit=True)
    return report.exit_status


def format_runs(runs: Sequence[RunInfo]) -> str:
    """Return the recorded runs as a table, oldest first."""
    rows = [(r.run_id, r.started, f"{r.hosts_audited}/{r.hosts}", r.findings, "yes" if r.complete else "no")
            for r in runs]
    return tabulate(rows, headers=("run", "started", "audited", "findings", "complete"))


def format_diff(delta: RunDiff) -> str:
    """Return what changed between two runs, one line per item."""
    out = [f"{delta.run_a} -> {delta.run_b}: {len(delta.new)} new, {len(delta.resolved)} resolved, "
           f"{len(delta.host_changes)} host status changes"]
    out += [f"  host {c.host}: {c.before} -> {c.after}" for c in delta.host_changes]
    out += [f"  new      {f.host}: [{f.severity}] {f.check}: {clip(f.summary)}" for f in delta.new]
    out += [f"  resolved {f.host}: [{f.severity}] {f.check}: {clip(f.summary)}" for f in delta.resolved]
    return "\n".join(out)


def clip(text: str, limit: int = 160) -> str:
    """Return ``text`` cut to ``limit`` characters with a marker."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_command(reports: str) -> int:
    """`fleetaudit history`: list the recorded runs."""
    with History(os.path.join(reports, "history.db")) as history:
        runs = history.runs()
    click.echo(format_runs(runs) if runs else f"no runs recorded in {reports}/history.db yet")
    return EXIT_OK


def diff_command(reports: str, run_a: str, run_b: str) -> int:
    """`fleetaudit diff A B`: what changed between two runs."""
    with History(os.path.join(reports, "history.db")) as history:
        try:
            delta = history.diff(run_a, run_b)
        except HistoryError as exc:
            raise UserError(str(exc)) from exc
    click.echo(format_diff(delta))
    return EXIT_OK


def schedule_command(kind: str, inventory: str, reports: str, timeout_minutes: int) -> int:
    """`fleetaudit schedule`: print the nightly units or crontab line."""
    from fleetaudit.schedule import cron_line, systemd_units

    workdir = os.getcwd()
    if kind == "cron":
        click.echo(cron_line(workdir, inventory, reports, timeout_minutes))
        return EXIT_OK
    for name, text in systemd_units(workdir, inventory, reports, timeout_minutes).items():
        click.echo(f"# ~/.config/systemd/user/{name}\n{text}")
    return EXIT_OK


def demo_command(reports: Path, workdir: Path, force_local: bool, fail_on: str, verbose: int, tty: bool) -> int:
    """`fleetaudit demo`: start the simulated fleet (or build its trees) and audit it."""
    from fleetaudit.demo import demo_inventory

    with demo_inventory(workdir, force_local) as (inventory_path, note):
        click.echo(note, err=True)
        args = RunArgs(inventory=str(inventory_path), reports=str(reports), verbose=verbose, fail_on=fail_on,
                       tty=tty, connect_timeout=3.0, deadline=20.0)
        status = run_command(args)
    click.echo(f"fleetaudit demo: report at {reports / 'latest' / 'report.html'} (exit status {status})")
    sys.stdout.flush()
    return status
