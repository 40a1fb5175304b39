"""Checks over auth.log: failed SSH logins and every accepted source/user pair."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from typing import Dict, Iterator, List, Tuple

from fleetaudit.facts import AuthEvent, HostFacts
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

PAIR_WINDOW = dt.timedelta(seconds=10)


def failed_attempts(facts: HostFacts) -> List[AuthEvent]:
    """Return failed logins: every ``failed`` line plus ``invalid_user`` lines with no matching failure.

    A match is a failure of the same user and source within ``PAIR_WINDOW``; failures are indexed by
    (user, source) with sorted times, so each ``invalid_user`` line costs one bisection.
    """
    failed = [e for e in facts.auth_events if e.kind == "failed"]
    index = _failure_times(failed)
    extra = [e for e in facts.auth_events if e.kind == "invalid_user"
             and not _has_failure_near(index.get((e.user, e.source_ip), []), local(e.at))]
    return sorted(failed + extra, key=lambda e: local(e.at))


def _failure_times(failed: List[AuthEvent]) -> Dict[Tuple[str, str], List[dt.datetime]]:
    """Index the failures' naive local times by (user, source), each list sorted."""
    index: Dict[Tuple[str, str], List[dt.datetime]] = {}
    for e in failed:
        index.setdefault((e.user, e.source_ip), []).append(local(e.at))
    for times in index.values():
        times.sort()
    return index


def _has_failure_near(times: List[dt.datetime], at: dt.datetime) -> bool:
    """Say whether a sorted list holds a time within ``PAIR_WINDOW`` of ``at`` (either side, inclusive)."""
    i = bisect_left(times, at - PAIR_WINDOW)
    return i < len(times) and times[i] <= at + PAIR_WINDOW


@check("auth.failed_logins", description="SSH logins failed (wrong password, unknown user).",
       evidence=("count", "users", "sources", "first", "last"), needs=("auth_events",))
def failed_logins(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report failed SSH logins as one finding: warning at ``failed_login_warning`` or more, else info."""
    attempts = failed_attempts(facts)
    if not attempts:
        return
    users = sorted({e.user for e in attempts if e.user})
    sources = sorted({e.source_ip for e in attempts if e.source_ip})
    severity = "warning" if len(attempts) >= ctx.host.thresholds.failed_login_warning else "info"
    summary = (f"{len(attempts)} failed SSH login(s) for {', '.join(users) or 'unknown users'} from "
               f"{', '.join(sources) or 'unknown sources'}: make sure password login is off or the sources blocked.")
    evidence = {"count": len(attempts), "users": users, "sources": sources,
                "first": iso(attempts[0].at), "last": iso(attempts[-1].at)}
    yield make(facts, "auth.failed_logins", severity, summary, evidence, key="ssh",
               start=attempts[0].at, end=attempts[-1].at)


def accepted_pairs(facts: HostFacts) -> Dict[Tuple[str, str], List[AuthEvent]]:
    """Group accepted logins by (source address, user)."""
    pairs: Dict[Tuple[str, str], List[AuthEvent]] = {}
    for e in sorted((e for e in facts.auth_events if e.kind == "accepted"), key=lambda e: local(e.at)):
        pairs.setdefault((e.source_ip, e.user), []).append(e)
    return pairs


@check("auth.accepted_login", description="An SSH login was accepted; one finding per source/user pair.",
       evidence=("user", "source", "methods", "count", "first", "last"), needs=("auth_events",))
def accepted_login(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each source/user pair that logged in, so an unexpected one stands out."""
    for (source, user), events in sorted(accepted_pairs(facts).items()):
        methods = sorted({e.method for e in events if e.method})
        summary = (f"{user} logged in over SSH from {source or 'an unknown address'} {len(events)} time(s) "
                   f"between {iso(events[0].at)} and {iso(events[-1].at)}: confirm this source is expected.")
        evidence = {"user": user, "source": source, "methods": methods, "count": len(events),
                    "first": iso(events[0].at), "last": iso(events[-1].at)}
        yield make(facts, "auth.accepted_login", "info", summary, evidence, key=f"{source}|{user}",
                   start=events[0].at, end=events[-1].at)
