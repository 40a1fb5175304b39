"""Checks over the periodic logger table: bursts, late drift, gaps that were never caught up, daily counts."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from fleetaudit.facts import HostFacts, LoggerData
from fleetaudit.model import Finding

from .common import iso_minute, make, plural
from .logger_cause import burst_cause
from .logger_slots import SlotAnalysis, analyze
from .registry import CheckContext, check

_RECENT: List[Tuple[LoggerData, Optional[int], Optional[SlotAnalysis]]] = []


def slot_analysis(facts: HostFacts, ctx: CheckContext) -> Optional[SlotAnalysis]:
    """Analyse the host's logger rows with the inventory's interval when it gives one.

    The four logger checks share one analysis per host: the last few results are kept by the identity of the
    (immutable) logger data, so a year of rows is walked once, not four times.
    """
    data, interval = facts.logger, ctx.host.logger.interval_minutes
    if data is None or not data.rows:
        return None
    for seen, seen_interval, result in _RECENT:
        if seen is data and seen_interval == interval:
            return result
    result = analyze(data, interval)
    _RECENT.insert(0, (data, interval, result))
    del _RECENT[4:]
    return result


@check("logger.burst", description="Several logger rows share one timestamp after a gap: missed runs ran at once.",
       evidence=("stamp", "count", "gap_from", "missing_slots", "cause", "cause_evidence"),
       needs=("logger", "cron_runs", "cron_jobs", "clock_events", "coverage"))
def burst(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report every burst with its most likely cause."""
    analysis = slot_analysis(facts, ctx)
    if analysis is None:
        return
    for b in analysis.bursts:
        cause, lines = burst_cause(facts, b, analysis.interval)
        summary = (f"{b.count} logger rows are all stamped {iso_minute(b.stamp)} after a gap from "
                   f"{iso_minute(b.gap_from)} ({plural(b.missing_slots, 'missed slot')}); cause: "
                   f"{cause.replace('_', ' ')} - check what stalled the host in that window.")
        evidence = {"stamp": iso_minute(b.stamp), "count": b.count, "gap_from": iso_minute(b.gap_from),
                    "missing_slots": b.missing_slots, "cause": cause, "cause_evidence": lines}
        yield make(facts, "logger.burst", "warning", summary, evidence, key=iso_minute(b.stamp),
                   start=b.gap_from, end=b.stamp)


@check("logger.late_drift", description="Logger runs were stamped later than their slot for a stretch.",
       evidence=("start", "end", "max_late_minutes", "rows"), needs=("logger",))
def late_drift(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report stretches of late rows: two or more in a row, or one at least ``late_minutes`` late."""
    analysis = slot_analysis(facts, ctx)
    limit = ctx.host.thresholds.late_minutes
    for d in analysis.drifts if analysis is not None else ():
        if d.rows < 2 and d.max_late_minutes < limit:
            continue
        severity = "warning" if d.max_late_minutes >= limit else "info"
        summary = (f"{plural(d.rows, 'logger run')} from {iso_minute(d.start)} to {iso_minute(d.end)} were up to "
                   f"{plural(d.max_late_minutes, 'minute')} late: look for load or a stalled cron at that time.")
        evidence = {"start": iso_minute(d.start), "end": iso_minute(d.end),
                    "max_late_minutes": d.max_late_minutes, "rows": d.rows}
        yield make(facts, "logger.late_drift", severity, summary, evidence, key=iso_minute(d.start),
                   start=d.start, end=d.end)


@check("logger.gap", description="Logger slots are missing and no later burst caught them up.",
       evidence=("start", "end", "missing_slots", "after"), needs=("logger",))
def gap(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report every run of slots with no row that no burst made up for."""
    analysis = slot_analysis(facts, ctx)
    for g in analysis.gaps if analysis is not None else ():
        summary = (f"The logger has no row for {plural(g.missing_slots, 'slot')} from {iso_minute(g.start)} "
                   f"to {iso_minute(g.end)}: find out whether the host was down or cron stopped.")
        evidence = {"start": iso_minute(g.start), "end": iso_minute(g.end), "missing_slots": g.missing_slots,
                    "after": iso_minute(g.after)}
        yield make(facts, "logger.gap", "warning", summary, evidence, key=iso_minute(g.start),
                   start=g.start, end=g.end)


@check("logger.daily_count", description="A full day whose logger row count differs from 24*60/interval.",
       evidence=("day", "count", "expected"), needs=("logger",))
def daily_count(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report every fully covered day whose row count is not the expected one."""
    analysis = slot_analysis(facts, ctx)
    if analysis is None:
        return
    expected = analysis.expected_per_day
    for day, count in analysis.days:
        if count == expected:
            continue
        summary = (f"The logger wrote {plural(count, 'row')} on {day.isoformat()} instead of {expected}: "
                   f"{'rows were lost' if count < expected else 'some slots were written twice'}.")
        yield make(facts, "logger.daily_count", "warning", summary,
                   {"day": day.isoformat(), "count": count, "expected": expected}, key=day.isoformat())
