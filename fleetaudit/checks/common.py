"""Helpers shared by the checks: ISO formatting, "now", naive local time, finding construction."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Iterable, Mapping, Optional

from fleetaudit.facts import HostFacts
from fleetaudit.model import Finding

from .registry import CheckContext


def iso(at: Optional[dt.datetime]) -> Optional[str]:
    """Format a datetime as ISO 8601 to the second (with its offset when aware)."""
    return None if at is None else at.isoformat(timespec="seconds")


def iso_minute(at: dt.datetime) -> str:
    """Format a datetime as ISO 8601 to the minute, e.g. ``2020-09-01T05:04``."""
    return at.isoformat(timespec="minutes")


def local(at: dt.datetime) -> dt.datetime:
    """Return host-local wall-clock time without tzinfo, so naive and aware times compare.

    A naive value is returned as is: ``replace`` builds a new object, and this runs for every logger row.
    """
    return at if at.tzinfo is None else at.replace(tzinfo=None)


def minute(at: dt.datetime) -> dt.datetime:
    """Return naive local time truncated to the minute (the value itself when it already is)."""
    if at.second or at.microsecond or at.tzinfo is not None:
        return at.replace(tzinfo=None, second=0, microsecond=0)
    return at


def fingerprint(check_id: str, host: str, key: str) -> str:
    """Return a stable id for a finding: check, host and the evidence that identifies it."""
    digest = hashlib.sha256(f"{check_id}|{host}|{key}".encode()).hexdigest()[:16]
    return f"{check_id}:{digest}"


def make(facts: HostFacts, check_id: str, severity: str, summary: str, evidence: Mapping[str, Any], *,
         key: str, start: Optional[dt.datetime] = None, end: Optional[dt.datetime] = None) -> Finding:
    """Build one finding for ``facts.host``."""
    return Finding(host=facts.host, check=check_id, severity=severity, summary=summary, start=iso(start),
                   end=iso(end if end is not None else start), evidence=dict(evidence),
                   fingerprint=fingerprint(check_id, facts.host, key))


def evidence_times(facts: HostFacts) -> Iterable[dt.datetime]:
    """Yield every timestamp the host's evidence carries (logs, logger rows, packages, VPN)."""
    for cov in facts.coverage:
        if cov.last is not None:
            yield cov.last
    for vol in facts.volumes:
        if vol.last is not None:
            yield vol.last
    if facts.logger is not None and facts.logger.rows:
        yield max(r.stamp for r in facts.logger.rows)
    for seq in (facts.cron_runs, facts.auth_events, facts.vpn_events, facts.package_actions):
        if seq:
            yield max(local(e.at) for e in seq)


def resolve_now(facts: HostFacts, ctx: CheckContext) -> Optional[dt.datetime]:
    """Return "now" for time-relative checks, naive host-local.

    ``ctx.now`` when given; else the newest timestamp in the host's evidence when that is older than
    ``system.collected_at`` (an old snapshot or a simulated period); else ``collected_at``.
    """
    if ctx.now is not None:
        return local(ctx.now)
    newest = max((local(t) for t in evidence_times(facts)), default=None)
    collected = facts.system.collected_at
    if collected is None:
        return newest
    if newest is not None and newest < local(collected):
        return newest
    return local(collected)


def plural(n: int, word: str) -> str:
    """Return ``"1 row"`` / ``"3 rows"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
