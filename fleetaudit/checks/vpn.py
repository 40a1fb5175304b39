"""Checks over SoftEther VPN server and security logs: unclean restarts and failed logins."""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

from fleetaudit.facts import HostFacts, VpnEvent
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

SHUTDOWN = ("shutdown_begin", "shutdown_done")


def ordered(events: Sequence[VpnEvent]) -> List[VpnEvent]:
    """Return the events in time order (file and line break ties)."""
    return sorted(events, key=lambda e: (local(e.at), e.file, e.lineno))


def unclean_starts(facts: HostFacts) -> List[Tuple[VpnEvent, Optional[VpnEvent]]]:
    """Return (start, last event before it) for each start with no shutdown line since the previous start.

    The first start counts only when earlier lines show the server was already running.
    """
    found: List[Tuple[VpnEvent, Optional[VpnEvent]]] = []
    before: List[VpnEvent] = []
    for event in ordered(facts.vpn_events):
        if event.kind == "start":
            if before and not any(e.kind in SHUTDOWN for e in before):
                found.append((event, before[-1]))
            before = []
            continue
        before.append(event)
    return found


@check("vpn.unclean_restart",
       description="The SoftEther VPN server started with no shutdown line since its last start.",
       evidence=("started_at", "last_line_before", "file"), needs=("vpn_events",))
def unclean_restart(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each SoftEther start that followed a crash, kill or power loss rather than a clean stop."""
    for start, last in unclean_starts(facts):
        last_line = f"{iso(last.at)} {last.text}" if last else ""
        summary = (f"The SoftEther VPN server started at {iso(start.at)} without shutting down first "
                   f"(last line before: {last.text if last else 'none'}): the server or host died; "
                   f"check power, temperature and the kernel log.")
        evidence = {"started_at": iso(start.at), "last_line_before": last_line, "file": start.file}
        yield make(facts, "vpn.unclean_restart", "warning", summary, evidence, key=iso(start.at) or "",
                   start=last.at if last else start.at, end=start.at)


def failure_evidence(events: Sequence[VpnEvent]) -> dict[str, object]:
    """Return count, sources, users, first and last of a list of failure events."""
    ordered_events = ordered(events)
    return {"count": len(events), "sources": sorted({e.source_ip for e in events if e.source_ip}),
            "users": sorted({e.user for e in events if e.user}),
            "first": iso(ordered_events[0].at), "last": iso(ordered_events[-1].at)}


def _failures(facts: HostFacts, kind: str) -> List[VpnEvent]:
    return ordered([e for e in facts.vpn_events if e.kind == kind])


@check("vpn.admin_login_failed", description="Someone failed to log in to the SoftEther server in administration mode.",
       evidence=("count", "sources", "users", "first", "last"), needs=("vpn_events",))
def admin_login_failed(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report failed SoftEther admin logins as one finding."""
    events = _failures(facts, "admin_login_failed")
    if not events:
        return
    ev = failure_evidence(events)
    who = ", ".join(ev["sources"]) if ev["sources"] else "unknown sources"  # type: ignore[arg-type]
    summary = (f"{len(events)} failed SoftEther admin login(s) from {who} between {ev['first']} and {ev['last']}: "
               f"make sure they were yours, or change the admin password and restrict the admin port.")
    yield make(facts, "vpn.admin_login_failed", "warning", summary, ev, key="admin",
               start=events[0].at, end=events[-1].at)


@check("vpn.user_auth_failed", description="VPN users failed to authenticate to a SoftEther virtual hub.",
       evidence=("count", "sources", "users", "first", "last"), needs=("vpn_events",))
def user_auth_failed(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report failed VPN user authentications: info, warning at ``failed_login_warning`` or more."""
    events = _failures(facts, "user_auth_failed")
    if not events:
        return
    ev = failure_evidence(events)
    severity = "warning" if len(events) >= ctx.host.thresholds.failed_login_warning else "info"
    users = ", ".join(ev["users"]) if ev["users"] else "unknown users"  # type: ignore[arg-type]
    summary = (f"{len(events)} failed VPN user authentication(s) for {users} between {ev['first']} and "
               f"{ev['last']}: check the users' credentials or block the sources.")
    yield make(facts, "vpn.user_auth_failed", severity, summary, ev, key="user",
               start=events[0].at, end=events[-1].at)
