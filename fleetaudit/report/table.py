"""The terminal report: a tabulate matrix, the incident stories, twin differences and host status lines.

Every host-originated string goes through ``sanitize.clean`` (no ANSI, no control or bidi characters,
clipped), so a hostile log line cannot repaint or reorder the terminal. ANSI colour only when asked.
"""

from __future__ import annotations

from typing import List, Sequence

from tabulate import tabulate

from fleetaudit.model import FleetReport, HostReport, Incident, TwinDiff
from fleetaudit.report.sanitize import clean

COLORS = {"critical": "\x1b[1;31m", "warning": "\x1b[33m", "info": "\x1b[36m", "ok": "\x1b[32m"}
UNAUDITED_COLOR = "\x1b[1;35m"
RESET = "\x1b[0m"
UNAVAILABLE = ("missing", "denied", "timeout", "error", "truncated")


def paint(text: str, key: str, color: bool) -> str:
    """Wrap text in the ANSI colour for a severity/status when colour is on."""
    if not color or not text:
        return text
    code = COLORS.get(key, UNAUDITED_COLOR if key not in ("", "partial") else "")
    return f"{code}{text}{RESET}" if code else text


def matrix_table(report: FleetReport, color: bool) -> str:
    """Render the hosts x checks matrix, with a status row first."""
    comp = report.comparison
    status = {h.name: h.status for h in report.hosts}
    headers = ["check"] + [clean(h, 40) for h in comp.hosts]
    rows = [["(host status)"] + [paint(status.get(h, "?"), status.get(h, "?"), color) for h in comp.hosts]]
    for check in comp.checks:
        cells = comp.matrix.get(check, {})
        rows.append([check] + [paint(cells.get(h, "") or "·", cells.get(h, ""), color) for h in comp.hosts])
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def incident_lines(incidents: Sequence[Incident]) -> List[str]:
    """Return one line per incident: host and its one-sentence story, plus timers that could have fired."""
    lines: List[str] = []
    for inc in incidents:
        lines.append(f"  {clean(inc.host, 60)}: {clean(inc.story, 600)}")
        if inc.timers:
            lines.append(f"      timers: {clean(', '.join(inc.timers), 400)}")
    return lines or ["  none"]


def twin_lines(twins: Sequence[TwinDiff]) -> List[str]:
    """Return one line per twin difference, odd ones out marked."""
    lines: List[str] = []
    for t in twins:
        values = ", ".join(f"{clean(h, 40)}={clean(v, 60)}" for h, v in sorted(t.values.items()))
        odd = ", ".join(clean(h, 40) for h in t.odd_ones_out) or "no majority"
        lines.append(f"  [{clean(t.group, 40)}] {t.kind} {clean(t.item, 120)}: {values}; odd one out: {odd}")
    return lines or ["  none"]


def host_line(host: HostReport, color: bool) -> str:
    """Return one status line per host: status, reason, history note, finding counts, unavailable sources."""
    counts = {s: sum(1 for f in host.findings if f.severity == s and f.status != "resolved")
              for s in ("critical", "warning", "info")}
    text = f"  {clean(host.name, 60)}: {paint(host.status, host.status, color)}"
    if host.reason:
        text += f" ({clean(host.reason, 200)})"
    if host.status_note:
        text += f" [{clean(host.status_note, 80)}]"
    text += " - " + ", ".join(f"{n} {s}" for s, n in counts.items())
    gone = [f"{clean(s.name, 40)} {s.status}" for s in host.sources if s.status in UNAVAILABLE]
    return text + (f"; sources: {', '.join(gone)}" if gone else "")


def render_table(report: FleetReport, color: bool) -> str:
    """Render the whole terminal report as text (ANSI colour only when ``color``)."""
    parts = [f"fleetaudit run {clean(report.run_id, 80)} ({clean(report.generated_at, 40)}),"
             f" exit status {report.exit_status} (fail on {report.fail_on})", "", matrix_table(report, color), "",
             "Incidents:", *incident_lines(report.incidents), "", "Twin differences:",
             *twin_lines(report.comparison.twins), "", "Hosts:", *(host_line(h, color) for h in report.hosts)]
    if report.resolved:
        parts += ["", "Resolved since the last run:"]
        parts += [f"  {clean(f.host, 60)} {f.check}: {clean(f.summary, 300)}" for f in report.resolved]
    return "\n".join(parts) + "\n"
