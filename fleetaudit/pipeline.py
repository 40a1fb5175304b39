"""The analysis pipeline: a run snapshot (plus inventory) in, one FleetReport out.

``analyze`` (an ``Analyzer``) parses each audited host and runs its checks in a worker process, which sends
back a small ``HostAnalysis`` (findings, incidents, a thinned chart series and the host's peer view), never
the full facts; the peer checks then run on the peer views, and ``assemble_analyses`` builds the report.
``assemble`` does the same from hand-made full facts, so tests can drive it without parsing.

Exit status (``FleetReport.exit_status``), the contract of every command:
  2  some host could not be audited (its status is not ``ok`` or ``partial``): this wins over 1, because
     a report missing a host cannot promise that nothing is wrong;
  1  otherwise, an open (not resolved) finding at or above ``fail_on`` ("info" | "warning" | "critical";
     "never" disables this);
  0  everything audited and nothing at or above ``fail_on``.
A ``partial`` host (some sources unavailable) counts as audited; its gaps show as ``source.unavailable``.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as dt
import operator
import os
import signal
import threading
import traceback
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar

from fleetaudit.checks import INTERNAL_ERROR_CHECK, CheckContext, in_order, run_check_map
from fleetaudit.compare import AUDITED, compare
from fleetaudit.facts import HostFacts
from fleetaudit.model import (
    SEVERITIES,
    Comparison,
    Finding,
    FleetReport,
    Host,
    HostReport,
    HostSnapshot,
    Incident,
    Inventory,
    RunSnapshot,
    severity_rank,
)
from fleetaudit.timeline import fingerprint, host_incidents

SCHEMA = "fleetaudit/report/v1"
T = TypeVar("T")
R = TypeVar("R")
FAIL_ON_CHOICES = SEVERITIES + ("never",)


def resolve_host(snap: HostSnapshot, inventory: Optional[Inventory]) -> Host:
    """Return the inventory entry of a snapshot's host, or a bare Host when the inventory lacks it."""
    for host in inventory.hosts if inventory else ():
        if host.name == snap.host:
            return host
    return Host(name=snap.host, groups=snap.groups)


def group_map(run: RunSnapshot, inventory: Optional[Inventory]) -> Dict[str, Tuple[str, ...]]:
    """Return group -> member host names, from the inventory or else from the snapshot's host groups."""
    if inventory is not None:
        return {g: tuple(members) for g, members in inventory.groups.items()}
    groups: Dict[str, List[str]] = {}
    for snap in run.hosts:
        for group in snap.groups:
            groups.setdefault(group, []).append(snap.host)
    return {g: tuple(m) for g, m in groups.items()}


def peers_of(name: str, groups: Mapping[str, Tuple[str, ...]], facts: Mapping[str, HostFacts]
             ) -> Tuple[HostFacts, ...]:
    """Return the facts of the other audited hosts sharing a group with ``name``."""
    names = {m for members in groups.values() if name in members for m in members if m != name}
    return tuple(facts[n] for n in sorted(names) if n in facts)


def with_fingerprints(findings: Sequence[Finding]) -> Tuple[Finding, ...]:
    """Fill in a stable fingerprint wherever a check left it empty."""
    return tuple(f if f.fingerprint else dataclasses.replace(f, fingerprint=fingerprint(f)) for f in findings)


def exit_status(hosts: Sequence[HostReport], fail_on: str) -> int:
    """Apply the exit-status contract (see the module docstring)."""
    if any(h.status not in AUDITED for h in hosts):
        return 2
    if fail_on == "never":
        return 0
    bar = severity_rank(fail_on)
    open_findings = (f for h in hosts for f in h.findings if f.status != "resolved")
    return 1 if any(severity_rank(f.severity) >= bar for f in open_findings) else 0


def system_info(facts: Optional[HostFacts]) -> Dict[str, str]:
    """Flatten a host's SystemInfo into the display mapping of HostReport.system (empty values left out)."""
    if facts is None:
        return {}
    s = facts.system
    raw = {"hostname": s.hostname, "model": s.model, "os": s.os_release, "kernel": s.kernel,
           "boot_time": s.boot_time.isoformat() if s.boot_time else "",
           "uptime": f"{s.uptime_s / 86400:.1f} days" if s.uptime_s is not None else "",
           "soc_temp_c": f"{s.soc_temp_c:.1f}" if s.soc_temp_c is not None else "",
           "collected_at": s.collected_at.isoformat() if s.collected_at else "", "utc_offset": s.utc_offset}
    return {k: v for k, v in raw.items() if v}


CHART_POINTS = 6000


def temperatures(facts: Optional[HostFacts], points: int = CHART_POINTS) -> Tuple[Tuple[str, float], ...]:
    """Return the logger's (ISO time, °C) series for the chart, oldest first.

    A long series (a year of 5-minute rows is 105,120 points) is thinned to about ``points`` buckets, keeping the
    hottest reading of each bucket so that no spike disappears from the chart.
    """
    if facts is None or facts.logger is None:
        return ()
    # naive() inlined and a C-level max key: this runs over every row (105k a host-year) in every run
    rows = sorted((r.stamp if r.stamp.tzinfo is None else r.stamp.replace(tzinfo=None), float(r.temperature))
                  for r in facts.logger.rows if r.temperature is not None)
    step = max(1, -(-len(rows) // points))
    if step > 1:
        hottest = operator.itemgetter(1)
        rows = [max(rows[i:i + step], key=hottest) for i in range(0, len(rows), step)]
    return tuple((at.isoformat(), t) for at, t in rows)


@dataclass(frozen=True)
class HostAnalysis:
    """One audited host's analysis, as a worker process returns it: small, whatever the host's evidence.

    ``view`` is the host's peer view (its facts without the bulky series, see ``peer_view``): enough for the
    peer checks, the twin diffs and the fleet matrix. ``findings`` holds every non-peer check's findings by
    check id; ``incidents`` were clustered from them (peer findings carry no time, so they join none).
    """

    host: str
    view: HostFacts
    findings: Mapping[str, Tuple[Finding, ...]]
    incidents: Tuple[Incident, ...] = ()
    system: Mapping[str, str] = dataclasses.field(default_factory=dict)
    temperatures: Tuple[Tuple[str, float], ...] = ()
    vpn_starts: Tuple[str, ...] = ()


# The parts of HostFacts that grow with the evidence: one entry per logger row, log line or login attempt.
BULKY_FIELDS = ("logger", "cron_runs", "clock_events", "systemd_messages", "boots", "auth_events", "vpn_events")


def peer_view(facts: HostFacts) -> HostFacts:
    """Return the facts a peer check or the twin diff may read: the host's facts without ``BULKY_FIELDS``."""
    return dataclasses.replace(facts, logger=None, cron_runs=(), clock_events=(), systemd_messages=(), boots=(),
                               auth_events=(), vpn_events=())


def host_analysis(facts: HostFacts, host: Host, findings: Mapping[str, Sequence[Finding]]) -> HostAnalysis:
    """Derive everything the report needs from one host's full facts and its non-peer findings."""
    marked = {check_id: with_fingerprints(found) for check_id, found in findings.items()}
    incidents = host_incidents(facts, in_order(marked), host.thresholds.incident_window_minutes)
    return HostAnalysis(host=facts.host, view=peer_view(facts), findings=marked, incidents=incidents,
                        system=system_info(facts), temperatures=temperatures(facts), vpn_starts=vpn_starts(facts))


ANALYSIS_STEP = "analysis"      # the ``check`` evidence of a check.error finding for a failed analysis step


def analyze_host(snap: HostSnapshot, host: Host, now: Optional[dt.datetime] = None) -> HostAnalysis:
    """Parse one host's snapshot and run its non-peer checks (what a worker process does for each host).

    Parsers and checks turn their own failures into values; should anything else fail (the timeline, the
    chart series), the host gets one ``check.error`` finding instead of its analysis, and the other hosts
    are not affected.
    """
    from fleetaudit.parse import build_facts

    try:
        facts = build_facts(snap, host)
        return host_analysis(facts, host, run_check_map(facts, CheckContext(host=host, now=now), peers=False))
    except Exception as exc:  # the per-host boundary of the analysis: a value, never a crash
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
        text = f"{type(exc).__name__}: {exc}{at}"
        failed = Finding(host=snap.host, check=INTERNAL_ERROR_CHECK, severity="warning",
                         summary=f"The analysis of this host failed ({text}); its findings are missing from this "
                                 "report.", evidence={"check": ANALYSIS_STEP, "error": text},
                         fingerprint=f"{INTERNAL_ERROR_CHECK}|{snap.host}|{ANALYSIS_STEP}")
        return HostAnalysis(host=snap.host, view=HostFacts(host=snap.host), findings={INTERNAL_ERROR_CHECK: (failed,)})


def vpn_starts(facts: Optional[HostFacts]) -> Tuple[str, ...]:
    """Return when the VPN server started, clean or not (the chart marks every start)."""
    if facts is None:
        return ()
    return tuple(sorted({e.at.replace(tzinfo=None).isoformat() for e in facts.vpn_events if e.kind == "start"}))


def host_report(snap: HostSnapshot, host: Host, analysis: Optional[HostAnalysis],
                findings: Sequence[Finding]) -> HostReport:
    """Assemble one host's part of the report (an unaudited host has no analysis)."""
    if analysis is None:
        return HostReport(name=snap.host, status=snap.status, reason=snap.reason, groups=snap.groups or host.groups,
                          sources=snap.sources, findings=tuple(findings), incidents=())
    return HostReport(name=snap.host, status=snap.status, reason=snap.reason, groups=snap.groups or host.groups,
                      sources=snap.sources, findings=tuple(findings), incidents=analysis.incidents,
                      system=analysis.system, temperatures=analysis.temperatures, vpn_starts=analysis.vpn_starts)


def peer_findings(analyses: Mapping[str, HostAnalysis], hosts: Mapping[str, Host],
                  groups: Mapping[str, Tuple[str, ...]], now: Optional[dt.datetime] = None
                  ) -> Dict[str, Tuple[Finding, ...]]:
    """Run the peer checks of every analysed host against its group peers' views; return every host's findings.

    The result is each host's complete findings, the non-peer ones from its analysis and the peer ones
    from here, in registration order.
    """
    views = {name: a.view for name, a in analyses.items()}
    out: Dict[str, Tuple[Finding, ...]] = {}
    for name, analysis in analyses.items():
        ctx = CheckContext(host=hosts.get(name) or Host(name=name), peers=peers_of(name, groups, views), now=now)
        found = dict(analysis.findings)
        found.update({k: with_fingerprints(v) for k, v in run_check_map(analysis.view, ctx, peers=True).items()})
        out[name] = in_order(found)
    return out


def assemble_analyses(run: RunSnapshot, hosts: Mapping[str, Host], analyses: Mapping[str, HostAnalysis],
                      findings: Mapping[str, Sequence[Finding]], groups: Mapping[str, Tuple[str, ...]],
                      fail_on: str = "warning", generated_at: Optional[str] = None) -> FleetReport:
    """Build the FleetReport from per-host analyses and complete findings (pure; no parsing, no checks)."""
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
    marked = {name: with_fingerprints(fs) for name, fs in findings.items()}
    reports = tuple(host_report(s, hosts.get(s.host) or Host(name=s.host), analyses.get(s.host),
                                marked.get(s.host, ())) for s in run.hosts)
    incidents = tuple(sorted((i for h in reports for i in h.incidents), key=lambda i: (i.start, i.host)))
    views = {name: a.view for name, a in analyses.items()}
    comparison: Comparison = compare(run.hosts, views, marked, groups)
    stamp = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return FleetReport(schema=SCHEMA, run_id=run.run_id, generated_at=stamp, inventory_path=run.inventory_path,
                       hosts=reports, incidents=incidents, comparison=comparison, fail_on=fail_on,
                       exit_status=exit_status(reports, fail_on))


def assemble(run: RunSnapshot, hosts: Mapping[str, Host], facts: Mapping[str, HostFacts],
             findings: Mapping[str, Sequence[Finding]], groups: Mapping[str, Tuple[str, ...]],
             fail_on: str = "warning", generated_at: Optional[str] = None) -> FleetReport:
    """Build the FleetReport from per-host full facts and complete findings (pure; for hand-made facts)."""
    analyses = {name: host_analysis(f, hosts.get(name) or Host(name=name), {"": tuple(findings.get(name, ()))})
                for name, f in facts.items()}
    return assemble_analyses(run, hosts, analyses, findings, groups, fail_on, generated_at)


def _ready() -> None:
    """Do nothing: submitted once so that the pool starts its workers right away."""


PR_SET_PDEATHSIG = 1   # prctl(2) option: the signal this process gets when its parent dies (Linux)


def _worker_init(parent: int) -> None:
    """Prepare a worker process: Ctrl-C is the parent's business, and the worker dies with its parent.

    The parent's KeyboardInterrupt handling shuts the pool down (a worker printing its own traceback would
    only add noise); a parent killed with SIGKILL cannot do that, so the kernel sends the worker SIGTERM.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):    # not Linux: the worker ends when the pool's pipe closes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:           # the parent died before prctl took effect
        os._exit(0)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT inside the block (main thread only; elsewhere signal handlers cannot be changed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Analyzer:
    """Analyses hosts as their snapshots arrive, in worker processes, and builds the report at the end.

    ``submit`` takes a host's snapshot as soon as its files are complete (during collection: the partial run
    directory) and starts parsing it and running its non-peer checks in a process pool, so the analysis of
    the first hosts overlaps the collection of the rest. ``wait`` blocks until every submitted host is done
    (call it before the snapshot directory moves); ``report`` runs the peer checks and assembles the report.
    With one host or one core everything runs in this process. Use it as a context manager: leaving
    it shuts the pool down, cancelling what has not started (Ctrl-C).
    """

    def __init__(self, inventory: Optional[Inventory], expected_hosts: int, now: Optional[dt.datetime] = None,
                 workers: Optional[int] = None) -> None:
        self.inventory, self.now = inventory, now
        count = min(expected_hosts, workers or os.cpu_count() or 1)
        self._pool: Optional[ProcessPoolExecutor] = None
        if count >= 2:
            self._pool = ProcessPoolExecutor(max_workers=count, initializer=_worker_init, initargs=(os.getpid(),))
            # With fork (Linux), the first submit starts every worker, so start them now: before ``fleetaudit
            # run`` starts its collect threads, whose sockets and locks a worker forked later would inherit.
            # SIGINT is ignored while forking, so that a worker never sees a Ctrl-C before its initializer ran.
            with _sigint_ignored():
                self._pool.submit(_ready)
        self._lock = threading.Lock()
        self._pending: Dict[str, Tuple[HostSnapshot, Host, Future[HostAnalysis]]] = {}
        self._later: Dict[str, Tuple[HostSnapshot, Host]] = {}
        self._done: Dict[str, HostAnalysis] = {}

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(wait=exc_type is None)

    def close(self, wait: bool = True) -> None:
        """Shut the pool down; work not started yet is cancelled (``wait=False``: don't wait for the rest)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> List[R]:
        """Return ``[fn(item) for item in items]``, computed in the worker processes when there are some.

        ``fn`` must be a module-level function (it is pickled); e.g. the HTML report's chart drawing.
        """
        if self._pool is None:
            return [fn(item) for item in items]
        try:
            return list(self._pool.map(fn, items))
        except BrokenExecutor:
            return [fn(item) for item in items]

    def submit(self, snap: HostSnapshot) -> None:
        """Start analysing an audited host's snapshot (others are ignored: they have nothing to analyse).

        Thread-safe: collect worker threads call it. Without a pool (or with a broken one) the host waits
        and is analysed in this process by ``wait``.
        """
        if snap.status not in AUDITED:
            return
        with self._lock:
            if snap.host in self._pending or snap.host in self._done or snap.host in self._later:
                return
            host = resolve_host(snap, self.inventory)
            if self._pool is None:
                self._later[snap.host] = (snap, host)
                return
            try:
                self._pending[snap.host] = (snap, host, self._pool.submit(analyze_host, snap, host, self.now))
            except BrokenExecutor:
                self._later[snap.host] = (snap, host)

    def wait(self) -> None:
        """Block until every submitted host is analysed.

        A check or parser bug raised in a worker is raised here, as it would be in-process; a worker that
        died (killed, out of memory) costs only a retry of its host in this process.
        """
        with self._lock:
            pending, self._pending = self._pending, {}
            later, self._later = self._later, {}
        for name, (snap, host, future) in pending.items():
            try:
                self._done[name] = future.result()
            except BrokenExecutor:
                later[name] = (snap, host)
        for name, (snap, host) in later.items():
            self._done[name] = analyze_host(snap, host, self.now)

    def report(self, run: RunSnapshot, fail_on: str = "warning", generated_at: Optional[str] = None) -> FleetReport:
        """Analyse what was not submitted yet, run the peer checks and assemble the run's report."""
        for snap in run.hosts:
            self.submit(snap)
        self.wait()
        hosts = {s.host: resolve_host(s, self.inventory) for s in run.hosts}
        analyses = {s.host: self._done[s.host] for s in run.hosts if s.host in self._done}
        groups = group_map(run, self.inventory)
        findings = peer_findings(analyses, hosts, groups, self.now)
        return assemble_analyses(run, hosts, analyses, findings, groups, fail_on, generated_at)


def analyze(run: RunSnapshot, inventory: Optional[Inventory], fail_on: str = "warning",
            now: Optional[dt.datetime] = None, generated_at: Optional[str] = None) -> FleetReport:
    """Parse every audited host's snapshot, run the checks with its group peers, and assemble the report.

    Unreachable (or otherwise unaudited) hosts get no facts and no findings but stay in the report with
    their status and reason. ``now`` is passed to the checks (None: each check derives the end of the
    audited period from the facts); ``generated_at`` pins the report timestamp (tests, golden files).
    """
    with Analyzer(inventory, sum(1 for s in run.hosts if s.status in AUDITED), now) as analyzer:
        return analyzer.report(run, fail_on, generated_at)
