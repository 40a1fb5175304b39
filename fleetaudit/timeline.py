"""One ordered timeline per host, and the incidents that cluster on it.

Time handling: every datetime on the timeline is *naive host-local wall-clock time*. Facts carry aware
datetimes when the source stated its offset (RFC3339 syslog) and naive ones otherwise (traditional syslog,
the logger DB, SoftEther). Both are host-local already, so an aware value is normalised by dropping its
tzinfo (keeping the wall-clock digits the host printed), never by converting it to UTC; mixing them then
compares correctly as long as all sources of one host share its zone, which they do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from fleetaudit.facts import HostFacts
from fleetaudit.model import Event, Finding, Incident
from fleetaudit.timeline_calendar import CalendarSpec, parse_calendar, timer_fires_within

# Findings that open an incident; everything else only joins one.
ANCHOR_CHECKS: Tuple[str, ...] = (
    "logger.burst", "logger.gap", "thermal.spike", "vpn.unclean_restart", "clock.jump", "logs.discontinuity",
)
# An anchor longer than this is context (e.g. a log silent for weeks), not the seed of an incident.
MAX_ANCHOR = dt.timedelta(hours=12)
# Events and findings this close to an incident's span are part of it.
MAX_SLACK = dt.timedelta(minutes=15)
MAX_INCIDENT_EVENTS = 200
TIMER_UNITS = ("apt-daily", "apt-daily-upgrade", "logrotate", "man-db")
__all__ = ["CalendarSpec", "Span", "build_timeline", "find_incidents", "fingerprint", "host_incidents", "naive",
           "parse_calendar", "parse_when", "story_for", "timer_fires_within", "timers_within"]


def naive(at: dt.datetime) -> dt.datetime:
    """Return the host-local wall-clock value of a datetime, without tzinfo (a naive one as is)."""
    return at if at.tzinfo is None else at.replace(tzinfo=None)


def parse_when(text: Optional[str]) -> Optional[dt.datetime]:
    """Parse an ISO 8601 finding time (date or datetime, 'Z' allowed) as naive host-local, or None."""
    if not text:
        return None
    try:
        return naive(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def fingerprint(finding: Finding) -> str:
    """Return the finding's fingerprint, or a stable sha256 of check + host + start when it has none."""
    if finding.fingerprint:
        return finding.fingerprint
    key = f"{finding.check}\x00{finding.host}\x00{finding.start or ''}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _ev(facts: HostFacts, at: dt.datetime, kind: str, source: str, text: str,
        value: Optional[float] = None) -> Event:
    return Event(host=facts.host, at=naive(at), kind=kind, source=source, text=text, value=value)


def _logger_events(facts: HostFacts) -> Iterable[Event]:
    if facts.logger is None:
        return
    for row in facts.logger.rows:
        text = f"row {row.rowid} stamped {row.raw_stamp}"
        yield _ev(facts, row.stamp, "logger.row", "logger", text, row.temperature)


def _finding_events(facts: HostFacts, findings: Sequence[Finding]) -> Iterable[Event]:
    for finding in findings:
        at = parse_when(finding.start)
        if at is not None:
            yield _ev(facts, at, finding.check, "findings", finding.summary)


def _log_events(facts: HostFacts) -> Iterable[Event]:
    for run in facts.cron_runs:
        yield _ev(facts, run.at, "cron.cmd", "syslog", f"({run.user}) CMD ({run.command})")
    for clock in facts.clock_events:
        delta = "" if clock.delta_seconds is None else f" by {clock.delta_seconds:+.0f} s"
        yield _ev(facts, clock.at, "clock.step", clock.source, f"clock stepped{delta}: {clock.line}")
    for boot in facts.boots:
        yield _ev(facts, boot, "boot", "syslog", "boot")
    for msg in facts.systemd_messages:
        yield _ev(facts, msg.at, _systemd_kind(facts, msg.unit), "syslog", f"{msg.unit} {msg.action}")


def _systemd_kind(facts: HostFacts, unit: str) -> str:
    stem = unit.rsplit(".", 1)[0]
    timer_units = {t.unit or t.name.rsplit(".", 1)[0] + ".service" for t in facts.timers}
    return "timer.fired" if stem in TIMER_UNITS or unit in timer_units else "systemd.unit"


def _auth_events(facts: HostFacts) -> Iterable[Event]:
    names = {"accepted": "ssh.accepted", "failed": "ssh.failed", "invalid_user": "ssh.invalid_user", "sudo": "sudo"}
    for auth in facts.auth_events:
        kind = names.get(auth.kind, f"auth.{auth.kind}")
        detail = auth.command if auth.kind == "sudo" else f"{auth.method} from {auth.source_ip}".strip()
        yield _ev(facts, auth.at, kind, "auth", f"{auth.user} {detail}".strip())


def _vpn_and_package_events(facts: HostFacts) -> Iterable[Event]:
    for vpn in facts.vpn_events:
        yield _ev(facts, vpn.at, f"vpn.{vpn.kind}", "softether", vpn.text)
    for action in facts.package_actions:
        prefix = "apt" if action.origin == "apt-history" else "dpkg"
        text = f"{action.action} {action.package} {action.version}".strip()
        yield _ev(facts, action.at, f"{prefix}.{action.action}", action.origin, text)
    temp = facts.system.soc_temp_c
    if temp is not None and facts.system.collected_at is not None:
        yield _ev(facts, facts.system.collected_at, "temperature", "soc_temp", f"SoC {temp:.1f} °C", temp)


def _order(e: Event) -> Tuple[dt.datetime, str, str]:
    return (e.at, e.kind, e.text)


def build_timeline(facts: HostFacts, findings: Sequence[Finding], logger_rows: bool = True) -> Tuple[Event, ...]:
    """Merge every event of one host, from every source and from its findings, into one ordered tuple.

    ``logger_rows=False`` leaves out the one ``logger.row`` event per logger row (a year is 105k of them);
    ``host_incidents`` adds back only the rows inside each incident.
    """
    events: List[Event] = list(_logger_events(facts)) if logger_rows else []
    for producer in (_log_events(facts), _auth_events(facts), _vpn_and_package_events(facts),
                     _finding_events(facts, findings)):
        events.extend(producer)
    return tuple(sorted(events, key=_order))


class _RowEvents:
    """The logger rows as ``logger.row`` events, made only for the windows asked for (bisect on the stamps)."""

    def __init__(self, facts: HostFacts) -> None:
        rows = facts.logger.rows if facts.logger is not None else ()
        stamps = [r.stamp if r.stamp.tzinfo is None else r.stamp.replace(tzinfo=None) for r in rows]
        self.facts, self.rows = facts, rows
        if all(map(operator.le, stamps, stamps[1:])):        # rowid order is time order: the usual case
            self.stamps, self.order = stamps, list(range(len(rows)))
        else:                                                 # stable: equal stamps keep row order
            self.order = sorted(range(len(rows)), key=stamps.__getitem__)
            self.stamps = [stamps[i] for i in self.order]

    def within(self, start: dt.datetime, end: dt.datetime) -> List[Event]:
        """Return the row events stamped in [start, end], in row order."""
        lo, hi = bisect_left(self.stamps, start), bisect_right(self.stamps, end)
        picked = sorted(self.order[lo:hi])
        return [_ev(self.facts, self.rows[i].stamp, "logger.row", "logger",
                    f"row {self.rows[i].rowid} stamped {self.rows[i].raw_stamp}", self.rows[i].temperature)
                for i in picked]


@dataclass(frozen=True)
class Span:
    """A finding with its parsed, naive host-local start and end."""

    finding: Finding
    start: dt.datetime
    end: dt.datetime


def _span(finding: Finding) -> Optional[Span]:
    start = parse_when(finding.start)
    if start is None:
        return None
    end = parse_when(finding.end) or start
    if finding.check == "vpn.unclean_restart":  # the restart is the instant; its span reaches back to the last line
        start = end = _as_dt(finding.evidence.get("started_at")) or end
    return Span(finding, min(start, end), max(start, end))


def _anchors(findings: Sequence[Finding]) -> List[Span]:
    spans = [_span(f) for f in findings if f.check in ANCHOR_CHECKS]
    return sorted((s for s in spans if s is not None and s.end - s.start <= MAX_ANCHOR), key=lambda s: s.start)


def _clusters(anchors: List[Span], window: dt.timedelta) -> List[List[Span]]:
    clusters: List[List[Span]] = []
    for span in anchors:
        if clusters and span.start <= max(s.end for s in clusters[-1]) + window:
            clusters[-1].append(span)
        else:
            clusters.append([span])
    return clusters


def _members(findings: Sequence[Finding], start: dt.datetime, end: dt.datetime,
             slack: dt.timedelta) -> List[Finding]:
    spans = [_span(f) for f in findings]
    inside = [s for s in spans if s is not None and s.start <= end + slack and s.end >= start - slack]
    return [s.finding for s in sorted(inside, key=lambda s: s.start)]


def timers_within(facts: HostFacts, start: dt.datetime, end: dt.datetime) -> Tuple[str, ...]:
    """Name the timers whose schedule (OnCalendar + RandomizedDelaySec + AccuracySec) reaches into a window.

    Timers explicitly disabled are left out; a schedule the evaluator does not understand is listed as
    ``"<name> (schedule not understood: <expr>)"`` so it is never silently dropped.
    """
    names: List[str] = []
    for timer in sorted(facts.timers, key=lambda t: t.name):
        if timer.enabled is False:
            continue
        verdict = timer_fires_within(timer.on_calendar, timer.randomized_delay_s + timer.accuracy_s, start, end)
        if verdict is None:
            names.append(f"{timer.name} (schedule not understood: {', '.join(timer.on_calendar)})")
        elif verdict:
            names.append(timer.name)
    return tuple(names)


def _incident(facts: HostFacts, cluster: List[Span], events: Sequence[Event], findings: Sequence[Finding],
              slack: dt.timedelta, rows: Optional[_RowEvents] = None) -> Incident:
    start = min(s.start for s in cluster)
    end = max(s.end for s in cluster)
    members = _members(findings, start, end, slack)
    timers = timers_within(facts, start, end)
    inside = [e for e in events if start - slack <= naive(e.at) <= end + slack]
    if rows is not None:
        inside = sorted(rows.within(start - slack, end + slack) + inside, key=_order)
    inside = inside[:MAX_INCIDENT_EVENTS]
    story = story_for(facts, start, end, members, timers, findings)
    return Incident(host=facts.host, start=start.isoformat(), end=end.isoformat(), story=story,
                    findings=tuple(dict.fromkeys(fingerprint(f) for f in members)), timers=timers,
                    events=tuple(inside))


def find_incidents(facts: HostFacts, events: Sequence[Event], findings: Sequence[Finding],
                   window_minutes: int) -> Tuple[Incident, ...]:
    """Cluster a host's notable findings (and the events and findings around them) into incidents.

    Anchors are findings of ``ANCHOR_CHECKS`` no longer than 12 h; anchors closer than ``window_minutes``
    to each other merge into one incident whose span is their union. Any finding overlapping the span
    (within min(window, 15 min)) and every event inside it joins the incident. Routine events never open one.
    """
    return _find(facts, events, findings, window_minutes, False)


def host_incidents(facts: HostFacts, findings: Sequence[Finding], window_minutes: int) -> Tuple[Incident, ...]:
    """Return ``find_incidents(facts, build_timeline(facts, findings), findings, window_minutes)``, cheaply.

    The timeline is built without its per-row logger events; each incident gets the rows of its own window.
    """
    return _find(facts, build_timeline(facts, findings, logger_rows=False), findings, window_minutes, True)


def _find(facts: HostFacts, events: Sequence[Event], findings: Sequence[Finding], window_minutes: int,
          add_rows: bool) -> Tuple[Incident, ...]:
    window = dt.timedelta(minutes=max(window_minutes, 0))
    slack = min(window, MAX_SLACK)
    clusters = _clusters(_anchors(findings), window)
    rows = _RowEvents(facts) if add_rows and clusters else None
    return tuple(_incident(facts, cluster, events, findings, slack, rows) for cluster in clusters)


# --- the one-sentence story ---

def _as_dt(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return naive(value)
    return parse_when(str(value)) if value is not None else None


def _hm(value: Any) -> str:
    at = _as_dt(value)
    return at.strftime("%H:%M") if at is not None else str(value)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _burst(facts: HostFacts, ev: Mapping[str, Any]) -> str:
    stamp, gap_from = _as_dt(ev.get("stamp")), _as_dt(ev.get("gap_from"))
    interval = facts.logger.interval_minutes if facts.logger and facts.logger.interval_minutes else 5
    stopped = f"stopped for {int((stamp - gap_from).total_seconds() // 60)} min" if stamp and gap_from else "stopped"
    causes = {"cron_catchup": " (cron catch-up)", "job_pileup": " (jobs piled up)", "clock_jump": " (clock step)",
              "unknown": " (cause unknown: the logs that would tell are missing)"}
    return (f"the {interval}-minute logger {stopped}, then {ev.get('count', '?')} runs landed at "
            f"{_hm(ev.get('stamp'))}{causes.get(str(ev.get('cause', '')), '')}")


def _thermal(ev: Mapping[str, Any]) -> str:
    text = f"SoC temperature rose {_num(ev.get('rise_c', '?'))} °C"
    ambient = ev.get("ambient_change_c")
    if isinstance(ambient, (int, float)):
        text += " with no ambient change" if abs(ambient) < 1 else f" while ambient changed {ambient:+g} °C"
    return text


def _gaps(found: Sequence[Finding]) -> str:
    total = sum(int(f.evidence.get("missing_slots", 0) or 0) for f in found)
    first, last = _hm(found[0].evidence.get("start")), _hm(found[-1].evidence.get("end"))
    where = f"from {first} to {last}" if len(found) == 1 else f"in {len(found)} gaps between {first} and {last}"
    return f"the logger missed {total} slots {where} and never caught up"


def _rest(check: str, found: Sequence[Finding]) -> str:
    ev = found[0].evidence
    if check == "logger.late_drift":
        late = max(float(f.evidence.get("max_late_minutes", 0) or 0) for f in found)
        return f"runs drifted up to {late:g} min late"
    if check == "vpn.unclean_restart":
        times = ", ".join(_hm(f.evidence.get("started_at", f.end)) for f in found)
        return f"vpnserver started at {times} with no shutdown before it"
    if check == "clock.jump":
        delta = _num(ev.get("delta_seconds", "?"))
        return f"the clock stepped {delta} s at {_hm(ev.get('at'))} ({ev.get('source', '?')})"
    until = f" to {_hm(ev.get('to'))}" if ev.get("to") else ""
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    what = f"{ev.get('file', 'a log')} shows {ev.get('kind', 'a discontinuity')}"
    return f"{what} from {_hm(ev.get('from'))}{until}{more}"


def _clauses(facts: HostFacts, members: Sequence[Finding]) -> List[str]:
    """Return one clause per check (in order of first appearance), repeated findings summarised."""
    by_check: Dict[str, List[Finding]] = {}
    for finding in members:
        by_check.setdefault(finding.check, []).append(finding)
    out: List[str] = []
    for check, found in by_check.items():
        if check == "logger.burst":
            out.extend(_burst(facts, f.evidence) for f in found)
        elif check == "thermal.spike":
            out.append(_thermal(max(found, key=lambda f: float(f.evidence.get("rise_c", 0) or 0)).evidence))
        elif check == "logger.gap":
            out.append(_gaps(found))
        elif check in ("logger.late_drift", "vpn.unclean_restart", "clock.jump", "logs.discontinuity"):
            out.append(_rest(check, found))
    return out


def _lost_reasons(facts: HostFacts, start: dt.datetime, end: dt.datetime, members: Sequence[Finding],
                  context: Sequence[Finding]) -> List[str]:
    reasons = [str(f.evidence.get("reason", "")) for f in members if f.check == "logs.lost_window"]
    for cov in facts.coverage:
        if cov.source not in ("syslog", "journal"):
            continue
        if cov.last is not None and naive(cov.last) < start:
            reasons.append(f"nothing logged after {naive(cov.last):%b %d %H:%M}")
        elif cov.first is not None and naive(cov.first) > end:
            reasons.append(f"the log starts only at {naive(cov.first):%b %d %H:%M}")
        elif any(naive(a) <= start and naive(b) >= end for a, b in cov.silences):
            reasons.append("no line at all in it")
    if reasons:  # a full partition is a state: it explains any loss after it started
        reasons += [f"{f.evidence.get('mount', 'log partition')} {_num(f.evidence.get('use_percent', '?'))}% full"
                    for f in context if f.check == "disk.log_partition_full" and (parse_when(f.start) or end) <= end]
    return [r for r in dict.fromkeys(reasons) if r]


def story_for(facts: HostFacts, start: dt.datetime, end: dt.datetime, members: Sequence[Finding],
              timers: Sequence[str], context: Sequence[Finding] = ()) -> str:
    """Tell one incident as one sentence: span, then what each finding in it says.

    ``context`` is every finding of the host: states such as a full log partition explain an incident
    without overlapping it in time.
    """
    clauses = list(dict.fromkeys(_clauses(facts, members)))
    lost = _lost_reasons(facts, start, end, members, context)
    if lost:
        clauses.append(f"the syslog for this window is lost ({'; '.join(lost)})")
    fired = [t for t in timers if "not understood" not in t]
    if fired:
        clauses.append(f"{', '.join(fired)} could have fired inside it")
    span_end = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{span_end}: {'; '.join(clauses) or 'notable findings cluster here'}."
