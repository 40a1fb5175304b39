"""The per-host temperature chart: matplotlib (Agg, no pyplot state) rendered to a PNG data: URI.

Marked on it: logger gaps (grey spans, from ``logger.gap`` and the gap before each ``logger.burst``),
bursts (red lines), VPN starts (green dashed lines: ``vpn.unclean_restart`` findings and ``vpn.start``
events of incidents) and incidents (orange spans). Everything comes from the HostReport alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from fleetaudit.model import HostReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Span = Tuple[dt.datetime, dt.datetime]


def _when(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def bursts(host: HostReport) -> List[dt.datetime]:
    """Return the burst instants of a host's logger.burst findings."""
    found = (_when(f.evidence.get("stamp")) or _when(f.start) for f in host.findings if f.check == "logger.burst")
    return [at for at in found if at is not None]


def gaps(host: HostReport) -> List[Span]:
    """Return logger gaps: logger.gap spans and the silent stretch before each burst."""
    spans: List[Span] = []
    for f in host.findings:
        if f.check == "logger.gap":
            start, end = _when(f.evidence.get("start")) or _when(f.start), _when(f.evidence.get("end")) or _when(f.end)
        elif f.check == "logger.burst":
            start, end = _when(f.evidence.get("gap_from")), _when(f.evidence.get("stamp")) or _when(f.start)
        else:
            continue
        if start is not None and end is not None:
            spans.append((start, end))
    return spans


def vpn_starts(host: HostReport) -> List[dt.datetime]:
    """Return every VPN server start known to the report (all starts, unclean restarts, incident events)."""
    found = [_when(f.evidence.get("started_at")) or _when(f.start) for f in host.findings
             if f.check == "vpn.unclean_restart"]
    found += [_when(at) for at in host.vpn_starts]
    found += [e.at.replace(tzinfo=None) for i in host.incidents for e in i.events if e.kind == "vpn.start"]
    return sorted({at for at in found if at is not None})


def incident_spans(host: HostReport) -> List[Span]:
    """Return the incidents' spans."""
    spans = [(_when(i.start), _when(i.end)) for i in host.incidents]
    return [(a, b) for a, b in spans if a is not None and b is not None]


def _x(at: dt.datetime) -> float:
    from matplotlib import dates as mdates

    return float(mdates.date2num(at))  # type: ignore[no-untyped-call]


def _draw(fig: Figure, host: HostReport) -> None:
    from matplotlib import dates as mdates

    ax = fig.add_subplot(1, 1, 1)
    times = [_when(t) for t, _ in host.temperatures]
    points = [(t, v) for t, (_, v) in zip(times, host.temperatures) if t is not None]
    xs = mdates.date2num([p[0] for p in points]) if points else []  # type: ignore[no-untyped-call]
    ax.plot(xs, [p[1] for p in points], color="#1f5fa8", linewidth=0.8, label="SoC °C")
    for start, end in gaps(host):
        ax.axvspan(_x(start), _x(end), color="#999999", alpha=0.35, linewidth=0)
    for start, end in incident_spans(host):
        ax.axvspan(_x(start), _x(end + dt.timedelta(minutes=5)), color="#ff9900", alpha=0.3, linewidth=0)
    for at in bursts(host):
        ax.axvline(_x(at), color="#cc0000", linewidth=1.2)
    for at in vpn_starts(host):
        ax.axvline(_x(at), color="#118811", linewidth=1.0, linestyle="--")
    ax.xaxis_date()
    ax.set_ylabel("°C")
    ax.set_title("SoC temperature — grey: logger gap, red: burst, green: VPN start, orange: incident", fontsize=9)
    ax.grid(True, alpha=0.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def render_chart(host: HostReport) -> str:
    """Return the host's chart as a ``data:image/png;base64,...`` URI, or "" when it has no temperatures."""
    if not host.temperatures:
        return ""
    # matplotlib is imported here, not at the top: it costs ~0.3 s, which `fleetaudit collect` need not pay.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3), dpi=80)
    FigureCanvasAgg(fig)
    _draw(fig, host)
    # Fixed margins instead of tight_layout(), which draws the whole figure once more just to measure it.
    fig.subplots_adjust(left=0.06, right=0.99, top=0.9, bottom=0.22)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
