"""Check that the system log covers each incident window (logger bursts and gaps, unclean VPN starts)."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, List, Optional, Tuple

from fleetaudit.facts import HostFacts, LogCoverage
from fleetaudit.model import Finding

from .common import iso, local, make
from .disk import log_filesystem
from .logger import slot_analysis
from .registry import CheckContext, check
from .vpn import unclean_starts

Window = Tuple[dt.datetime, dt.datetime]
SYSTEM_LOGS = ("syslog", "journal")
VPN_LEAD = dt.timedelta(minutes=10)


def incident_windows(facts: HostFacts, ctx: CheckContext) -> List[Window]:
    """Return the merged windows the logs should cover: bursts, gaps and unclean VPN starts."""
    spans: List[Window] = []
    analysis = slot_analysis(facts, ctx)
    if analysis is not None:
        spans += [(b.gap_from, b.stamp) for b in analysis.bursts]
        spans += [(g.after, g.end) for g in analysis.gaps]
    for start, last in unclean_starts(facts):
        before = local(last.at) if last and local(start.at) - local(last.at) <= VPN_LEAD else None
        spans.append((before or local(start.at) - VPN_LEAD, local(start.at)))
    return _merge(sorted((local(a), local(b)) for a, b in spans))


def _merge(spans: List[Window]) -> List[Window]:
    merged: List[Window] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _span(covs: List[LogCoverage]) -> Optional[Window]:
    firsts = [local(c.first) for c in covs if c.first is not None]
    lasts = [local(c.last) for c in covs if c.last is not None]
    return (min(firsts), max(lasts)) if firsts and lasts else None


def _partition_full(facts: HostFacts, ctx: CheckContext) -> bool:
    fs = log_filesystem(facts)
    limit = ctx.host.thresholds.disk_critical_percent
    return fs is not None and max(fs.use_percent, fs.inode_use_percent or 0.0) >= limit


def gap_reason(facts: HostFacts, ctx: CheckContext, window: Window) -> Optional[Tuple[str, Optional[dt.datetime]]]:
    """Return (reason, covered_from) when no system log covers ``window``, else None."""
    # reasons: "log missing", "partition full", "log ends before the window", "truncated", "rotated away",
    # "no lines in the window"
    covs = [c for c in facts.coverage if c.source in SYSTEM_LOGS]
    span = _span(covs)
    if span is None:
        return "log missing", None
    first, last = span
    if first <= window[0] and last >= window[1]:
        return _silent(covs, window)
    if last < window[1]:
        return ("partition full" if _partition_full(facts, ctx) else "log ends before the window"), first
    truncated = any(c.truncated for c in covs)
    return ("truncated" if truncated else "rotated away"), first


def _silent(covs: List[LogCoverage], window: Window) -> Optional[Tuple[str, Optional[dt.datetime]]]:
    """Return a reason when a recorded silence spans the whole window."""
    for cov in covs:
        for a, b in cov.silences:
            if local(a) <= window[0] and local(b) >= window[1]:
                return "no lines in the window", local(cov.first) if cov.first else None
    return None


def _covered_to(facts: HostFacts) -> Optional[dt.datetime]:
    span = _span([c for c in facts.coverage if c.source in SYSTEM_LOGS])
    return span[1] if span else None


@check("logs.lost_window", description="The system log does not cover an incident window (rotated away, partition "
       "full, truncated).", evidence=("window_start", "window_end", "covered_from", "covered_to", "reason"),
       needs=("coverage", "logger", "vpn_events", "filesystems", "source_status"))
def lost_window(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each incident window the system log cannot explain."""
    for window in incident_windows(facts, ctx):
        found = gap_reason(facts, ctx, window)
        if found is None:
            continue
        reason, covered = found
        span = f"it covers only from {iso(covered)}" if covered else "no system log was collected"
        summary = (f"The system log does not cover the incident window {iso(window[0])} to {iso(window[1])} "
                   f"({reason}; {span}): keep logs longer or on another disk to see what happened.")
        evidence = {"window_start": iso(window[0]), "window_end": iso(window[1]), "covered_from": iso(covered),
                    "covered_to": iso(_covered_to(facts)), "reason": reason}
        yield make(facts, "logs.lost_window", "warning", summary, evidence, key=iso(window[0]) or "",
                   start=window[0], end=window[1])
