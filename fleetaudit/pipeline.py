"""The analysis pipeline: a run snapshot (plus inventory) in, one FleetReport out.

``analyze`` builds facts and runs the checks per audited host, then hands everything to ``assemble``,
which is pure (facts and findings in, report out) so tests can drive it with hand-made facts.

Exit status (``FleetReport.exit_status``), the contract of every command:
  2  some host could not be audited (its status is not ``ok`` or ``partial``): this wins over 1, because
     a report missing a host cannot promise that nothing is wrong;
  1  otherwise, an open (not resolved) finding at or above ``fail_on`` ("info" | "warning" | "critical";
     "never" disables this);
  0  everything audited and nothing at or above ``fail_on``.
A ``partial`` host (some sources unavailable) counts as audited; its gaps show as ``source.unavailable``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

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
from fleetaudit.timeline import fingerprint, host_incidents, naive

SCHEMA = "fleetaudit/report/v1"
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
    rows = sorted((naive(r.stamp), float(r.temperature)) for r in facts.logger.rows if r.temperature is not None)
    step = max(1, -(-len(rows) // points))
    if step > 1:
        rows = [max(rows[i:i + step], key=lambda row: row[1]) for i in range(0, len(rows), step)]
    return tuple((at.isoformat(), t) for at, t in rows)


def host_report(snap: HostSnapshot, host: Host, facts: Optional[HostFacts], findings: Sequence[Finding]) -> HostReport:
    """Assemble one host's part of the report, with its timeline's incidents."""
    incidents: Tuple[Incident, ...] = ()
    if facts is not None:
        incidents = host_incidents(facts, findings, host.thresholds.incident_window_minutes)
    return HostReport(name=snap.host, status=snap.status, reason=snap.reason, groups=snap.groups or host.groups,
                      sources=snap.sources, findings=tuple(findings), incidents=incidents,
                      system=system_info(facts), temperatures=temperatures(facts), vpn_starts=vpn_starts(facts))


def vpn_starts(facts: Optional[HostFacts]) -> Tuple[str, ...]:
    """Return when the VPN server started, clean or not (the chart marks every start)."""
    if facts is None:
        return ()
    return tuple(sorted({e.at.replace(tzinfo=None).isoformat() for e in facts.vpn_events if e.kind == "start"}))


def assemble(run: RunSnapshot, hosts: Mapping[str, Host], facts: Mapping[str, HostFacts],
             findings: Mapping[str, Sequence[Finding]], groups: Mapping[str, Tuple[str, ...]],
             fail_on: str = "warning", generated_at: Optional[str] = None) -> FleetReport:
    """Build the FleetReport from per-host facts and findings (pure; no parsing, no checks)."""
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
    marked = {name: with_fingerprints(fs) for name, fs in findings.items()}
    reports = tuple(host_report(s, hosts.get(s.host) or Host(name=s.host), facts.get(s.host), marked.get(s.host, ()))
                    for s in run.hosts)
    incidents = tuple(sorted((i for h in reports for i in h.incidents), key=lambda i: (i.start, i.host)))
    comparison: Comparison = compare(run.hosts, facts, marked, groups)
    stamp = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return FleetReport(schema=SCHEMA, run_id=run.run_id, generated_at=stamp, inventory_path=run.inventory_path,
                       hosts=reports, incidents=incidents, comparison=comparison, fail_on=fail_on,
                       exit_status=exit_status(reports, fail_on))


def all_facts(snaps: Sequence[HostSnapshot], hosts: Mapping[str, Host]) -> Dict[str, HostFacts]:
    """Build every audited host's facts, in parallel processes when there are several hosts and cores.

    Parsing is CPU-bound pure Python, so threads would not help; each host's facts are independent.
    """
    from fleetaudit.parse import build_facts

    workers = min(len(snaps), os.cpu_count() or 1)
    if workers < 2 or len(snaps) < 3:
        return {s.host: build_facts(s, hosts[s.host]) for s in snaps}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        built = pool.map(build_facts, snaps, [hosts[s.host] for s in snaps])
        return {s.host: f for s, f in zip(snaps, built)}


def analyze(run: RunSnapshot, inventory: Optional[Inventory], fail_on: str = "warning",
            now: Optional[dt.datetime] = None, generated_at: Optional[str] = None) -> FleetReport:
    """Parse every audited host's snapshot, run the checks with its group peers, and assemble the report.

    Unreachable (or otherwise unaudited) hosts get no facts and no findings but stay in the report with
    their status and reason. ``now`` is passed to the checks (None: each check derives the end of the
    audited period from the facts); ``generated_at`` pins the report timestamp (tests, golden files).
    """
    from fleetaudit.checks import CheckContext, run_checks

    hosts = {s.host: resolve_host(s, inventory) for s in run.hosts}
    facts = all_facts([s for s in run.hosts if s.status in AUDITED], hosts)
    groups = group_map(run, inventory)
    findings: Dict[str, Tuple[Finding, ...]] = {}
    for name, host_facts in facts.items():
        ctx = CheckContext(host=hosts[name], peers=peers_of(name, groups, facts), now=now)
        findings[name] = tuple(run_checks(host_facts, ctx))
    return assemble(run, hosts, facts, findings, groups, fail_on, generated_at)
