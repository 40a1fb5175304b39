"""Why a logger burst happened: cron catch-up, a job pile-up, a clock step, or unknown.

Debian cron logs nothing about time jumps; the only trace is its CMD lines (FORMATS.md section 1).
A catch-up shows all the job's CMD lines in the burst minute and none in the gap; a pile-up shows the
job started on schedule during the gap; a clock step is a clock event inside the gap. When no cron
log covers the window the cause is ``unknown`` and the evidence names the missing logs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Dict, List, Sequence, Tuple

from fleetaudit.facts import CronJob, CronRun, HostFacts

from .common import iso, local, minute
from .logger_slots import Burst

CRON_LOGS = ("syslog", "journal")
MAX_LINES = 12


def logger_jobs(facts: HostFacts, interval: int) -> Tuple[CronJob, ...]:
    """Return the crontab jobs that run at the logger's interval."""
    return tuple(j for j in facts.cron_jobs if j.interval_minutes == interval)


def _recurring_commands(runs: Sequence[CronRun], interval: int) -> Tuple[str, ...]:
    """Return commands whose CMD lines mostly recur every ``interval`` minutes."""
    by_cmd: Dict[str, List[dt.datetime]] = defaultdict(list)
    for run in runs:
        by_cmd[run.command.strip()].append(minute(run.at))
    found = []
    for cmd, times in by_cmd.items():
        times.sort()
        steps = Counter(int((b - a).total_seconds() // 60) for a, b in zip(times, times[1:]))
        if steps and steps.most_common(1)[0][0] == interval:
            found.append(cmd)
    return tuple(found)


def job_runs(facts: HostFacts, interval: int) -> Tuple[CronRun, ...]:
    """Return the CMD lines of the logger's cron job (by crontab command, else by recurrence)."""
    commands = {j.command.strip() for j in logger_jobs(facts, interval)}
    runs = tuple(r for r in facts.cron_runs if r.command.strip() in commands)
    if runs:
        return runs
    recurring = set(_recurring_commands(facts.cron_runs, interval))
    return tuple(r for r in facts.cron_runs if r.command.strip() in recurring)


def crontab_notes(facts: HostFacts, interval: int) -> List[str]:
    """Describe each logger job and whether Debian cron replays its missed runs."""
    notes = []
    for job in logger_jobs(facts, interval):
        kind = ("fixed-time job: Debian cron replays its missed runs after a 6-180 minute jump"
                if job.catches_up else "wildcard job: Debian cron does not replay its missed runs")
        notes.append(f"crontab {job.file}:{job.lineno} `{job.schedule} {job.command}` is a {kind}")
    if not notes:
        notes.append(f"no crontab job with a {interval}-minute interval was found")
    return notes


def _covering_logs(facts: HostFacts, start: dt.datetime, end: dt.datetime) -> Tuple[List[str], List[str]]:
    """Return (logs covering [start, end], descriptions of the cron logs that do not)."""
    covering, missing = [], []
    for name in CRON_LOGS:
        covs = [c for c in facts.coverage if c.source == name and c.first is not None and c.last is not None]
        if any(c.first and c.last and local(c.first) <= start and local(c.last) >= end for c in covs):
            covering.append(name)
        else:
            missing.append(describe_absence(facts, name))
    return covering, missing


def describe_absence(facts: HostFacts, name: str) -> str:
    """Say why the log ``name`` cannot show a window: its status, or the span it does cover."""
    status = facts.source_status.get(name)
    covs = [c for c in facts.coverage if c.source == name and c.first is not None and c.last is not None]
    if status is None and not covs:
        return f"{name}: not in the snapshot"
    if status is not None and status not in ("ok", "truncated", "unchanged"):
        reason = facts.source_reason.get(name, "")
        return f"{name}: {status}" + (f" ({reason})" if reason else "")
    if not covs:
        return f"{name}: no dated lines"
    first = min(local(c.first) for c in covs if c.first)
    last = max(local(c.last) for c in covs if c.last)
    cut = " (truncated to its newest bytes)" if any(c.truncated for c in covs) else ""
    return f"{name} covers only {iso(first)} to {iso(last)}{cut}"


def burst_cause(facts: HostFacts, burst: Burst, interval: int) -> Tuple[str, Tuple[str, ...]]:
    """Return (cause, cause_evidence) for one burst."""
    gap_from, stamp = minute(burst.gap_from), minute(burst.stamp)
    notes = crontab_notes(facts, interval)
    steps = [c for c in facts.clock_events if gap_from < minute(c.at) <= stamp]
    if steps:
        return "clock_jump", tuple([c.line for c in steps][:MAX_LINES] + notes)
    covering, missing = _covering_logs(facts, gap_from, stamp)
    if not covering:
        return "unknown", tuple(["no cron log covers the window: " + "; ".join(missing)] + notes)
    return _cause_from_runs(facts, interval, gap_from, stamp, notes)


def _cause_from_runs(facts: HostFacts, interval: int, gap_from: dt.datetime, stamp: dt.datetime,
                     notes: List[str]) -> Tuple[str, Tuple[str, ...]]:
    """Decide between catch-up and pile-up from the job's CMD lines around the gap."""
    runs = job_runs(facts, interval)
    in_gap = [r.line for r in runs if gap_from < minute(r.at) < stamp]
    in_burst = [r.line for r in runs if minute(r.at) == stamp]
    if in_gap:
        return "job_pileup", tuple(in_gap[:MAX_LINES] + [f"{len(in_gap)} CMD lines on schedule inside the gap"]
                                   + notes)
    if in_burst:
        return "cron_catchup", tuple(in_burst[:MAX_LINES] + [
            f"{len(in_burst)} CMD lines in the burst minute, none inside the gap"] + notes)
    return "unknown", tuple([f"the cron log covers the window but holds no CMD line for the logger job "
                             f"between {iso(gap_from)} and {iso(stamp)}"] + notes)
