"""Checks over the system logs themselves: a program flooding them, and signs they were cut or altered."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, List

from fleetaudit.facts import HostFacts, LogCoverage, ProgramVolume
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

CRON_PROGRAMS = ("CRON", "cron", "CROND", "crond")
LINES_PER_CRON_RUN = 4     # CMD, two PAM session lines, "No MTA installed"


def share_percent(vol: ProgramVolume, facts: HostFacts) -> float:
    """Return the program's share of all log lines or bytes, whichever is larger, in percent."""
    lines = 100.0 * vol.lines / facts.log_total_lines if facts.log_total_lines else 0.0
    size = 100.0 * vol.bytes / facts.log_total_bytes if facts.log_total_bytes else 0.0
    return round(max(lines, size), 1)


def scheduled_cron(facts: HostFacts, vol: ProgramVolume) -> bool:
    """Return True for cron's own lines when the job runs explain them (scheduled work, not noise)."""
    return vol.program in CRON_PROGRAMS and vol.lines <= LINES_PER_CRON_RUN * max(len(facts.cron_runs), 1)


def noisy(facts: HostFacts, ctx: CheckContext) -> List[ProgramVolume]:
    """Return the programs above the share and line thresholds, loudest first."""
    limits = ctx.host.thresholds
    return sorted((v for v in facts.volumes if v.lines >= limits.noisy_min_lines
                   and share_percent(v, facts) >= limits.noisy_share_percent and not scheduled_cron(facts, v)),
                  key=lambda v: -v.lines)


@check("logs.noisy_program", description="One program writes a large share of the system log lines or bytes.",
       evidence=("program", "lines", "bytes", "share_percent", "first", "last", "sample"),
       needs=("volumes", "log_total_lines", "log_total_bytes", "cron_runs"))
def noisy_program(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each program whose log share and line count are at or above the thresholds."""
    for vol in noisy(facts, ctx):
        share = share_percent(vol, facts)
        summary = (f"{vol.program} wrote {vol.lines} lines ({vol.bytes} bytes, {share:g}% of the log) between "
                   f"{iso(vol.first)} and {iso(vol.last)}, e.g. \"{vol.sample[:120]}\": fix or stop it before it "
                   f"fills the log partition.")
        evidence: dict[str, object] = {"program": vol.program, "lines": vol.lines, "bytes": vol.bytes,
                                       "share_percent": share, "first": iso(vol.first), "last": iso(vol.last),
                                       "sample": vol.sample}
        if "syslog" in facts.remote_summaries:      # exact counts made on the host (log over its cap)
            evidence["counted_on_host"] = True
        yield make(facts, "logs.noisy_program", "warning", summary, evidence, key=vol.program,
                   start=vol.first, end=vol.last)


def up_during(facts: HostFacts, start: dt.datetime, end: dt.datetime) -> List[str]:
    """Name the other sources (logger rows, SoftEther lines) that show the host was up inside (start, end)."""
    a, b = local(start), local(end)
    shown = []
    if facts.logger is not None and any(a < local(r.stamp) < b for r in facts.logger.rows):
        shown.append("logger rows")
    if any(a < local(e.at) < b for e in facts.vpn_events):
        shown.append("SoftEther lines")
    return shown


def _discontinuities(facts: HostFacts, cov: LogCoverage, silence: dt.timedelta) -> Iterator[dict[str, object]]:
    """Yield evidence for each backwards step, telling silence and mid-line ending of one coverage record."""
    for file, frm, to in cov.backwards:
        yield {"file": file, "kind": "backwards", "from": iso(frm), "to": iso(to), "_at": frm}
    for frm, to in cov.silences:
        others = up_during(facts, frm, to)
        if local(to) - local(frm) >= silence and others:
            yield {"file": cov.files[0] if cov.files else cov.source, "kind": "silence", "from": iso(frm),
                   "to": iso(to), "_at": frm, "_others": " and ".join(others)}
    for file in cov.ended_mid_line:
        yield {"file": file, "kind": "ended_mid_line", "from": iso(cov.last), "to": None, "_at": cov.last}


SUMMARIES = {
    "backwards": "Time goes backwards in {file} from {from} to {to}: the clock was stepped or lines were edited.",
    "silence": "{file} has no line from {from} to {to} although {_others} show the host was up: the log was "
               "stopped, lost or cut.",
    "ended_mid_line": "{file} ends in the middle of a line: it was truncated or the disk filled while writing.",
}


@check("logs.discontinuity", description="A log was cut or altered: time going backwards, a silence while the host "
       "was up, or a file ending mid-line.", evidence=("file", "kind", "from", "to"),
       needs=("coverage", "logger", "vpn_events"))
def discontinuity(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each discontinuity in the collected logs."""
    silence = dt.timedelta(minutes=ctx.host.thresholds.silence_minutes)
    for cov in facts.coverage:
        for ev in _discontinuities(facts, cov, silence):
            at = ev.pop("_at")
            summary = SUMMARIES[str(ev["kind"])].format(**ev)
            ev.pop("_others", None)
            yield make(facts, "logs.discontinuity", "warning", summary, ev,
                       key=f"{ev['file']}|{ev['kind']}|{ev['from']}", start=at if isinstance(at, dt.datetime)
                       else None, end=None)
