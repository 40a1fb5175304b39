"""The HTML report: one self-contained file (inline CSS, charts as data: URIs, no script, no URL).

Jinja2 with autoescape on for every template: log lines and host names are hostile input. On top of
escaping, every host-originated string passes the ``clean`` filter (control and bidi characters shown,
long values clipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fleetaudit.model import FleetReport
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


def _context(report: FleetReport) -> Dict[str, Any]:
    status = {h.name: h.status for h in report.hosts}
    charts = {h.name: render_chart(h) for h in report.hosts}
    return {"report": report, "status": status, "charts": charts, "unavailable": UNAVAILABLE,
            "host_index": {h.name: i for i, h in enumerate(report.hosts)}}


def render_html(report: FleetReport) -> str:
    """Render the whole report as one self-contained HTML document."""
    return environment().get_template("report.html.j2").render(**_context(report))
