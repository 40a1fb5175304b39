"""The HTML report: one self-contained file (inline CSS, charts as data: URIs, no script, no URL).

Jinja2 with autoescape on for every template: log lines and host names are hostile input. On top of
escaping, every host-originated string passes the ``clean`` filter (control and bidi characters shown,
long values clipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fleetaudit.model import FleetReport, HostReport
from fleetaudit.report.chart import render_chart
from fleetaudit.report.sanitize import clean

TEMPLATES = Path(__file__).resolve().parent / "templates"
UNAVAILABLE = ("missing", "denied", "timeout", "error", "truncated")


def environment() -> Environment:
    """Return the Jinja2 environment: templates beside this module, autoescape always on."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clean"] = clean
    return env


# Maps a function over items, in order; e.g. a process pool's ``map`` to draw the charts in parallel.
Mapper = Callable[[Callable[[HostReport], str], Iterable[HostReport]], Iterable[str]]


def _context(report: FleetReport, mapper: Optional[Mapper] = None) -> Dict[str, Any]:
    status = {h.name: h.status for h in report.hosts}
    drawn: List[str] = list((mapper or map)(render_chart, report.hosts))
    charts = {h.name: chart for h, chart in zip(report.hosts, drawn)}
    return {"report": report, "status": status, "charts": charts, "unavailable": UNAVAILABLE,
            "host_index": {h.name: i for i, h in enumerate(report.hosts)}}


def render_html(report: FleetReport, mapper: Optional[Mapper] = None) -> str:
    """Render the whole report as one self-contained HTML document.

    ``mapper`` (default: the builtin ``map``) draws the charts, one per host; the document depends only on
    the report whichever mapper is used.
    """
    return environment().get_template("report.html.j2").render(**_context(report, mapper))
