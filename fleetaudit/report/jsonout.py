"""The JSON report: a plain, stable rendering of FleetReport that follows docs/report.schema.json.

Keys are sorted and indentation is 2, so the same report always gives the same bytes. Host-originated
strings are kept verbatim (JSON escaping makes them harmless; ``ensure_ascii`` keeps the file ASCII).
The temperature series is not included (it is chart input, not an audit result); its length is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Mapping

from fleetaudit.model import Comparison, Event, Finding, FleetReport, HostReport, Incident, SourceResult, TwinDiff


def plain(value: Any) -> Any:
    """Turn evidence values (tuples, datetimes, mappings, anything) into JSON-ready values."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return str(value)


def finding_dict(f: Finding) -> Dict[str, Any]:
    """Return one finding in the check contract's shape."""
    return {"host": f.host, "check": f.check, "severity": f.severity, "summary": f.summary, "start": f.start,
            "end": f.end, "evidence": plain(f.evidence), "status": f.status, "fingerprint": f.fingerprint}


def source_dict(s: SourceResult) -> Dict[str, Any]:
    """Return one source's manifest status."""
    return {"name": s.name, "status": s.status, "files": list(s.files), "bytes": s.bytes,
            "truncated": s.truncated, "reason": s.reason}


def event_dict(e: Event) -> Dict[str, Any]:
    """Return one timeline event."""
    return {"at": e.at.isoformat(), "kind": e.kind, "source": e.source, "text": e.text, "value": plain(e.value)}


def incident_dict(i: Incident) -> Dict[str, Any]:
    """Return one incident with its events."""
    return {"host": i.host, "start": i.start, "end": i.end, "story": i.story, "findings": list(i.findings),
            "timers": list(i.timers), "events": [event_dict(e) for e in i.events]}


def host_dict(h: HostReport) -> Dict[str, Any]:
    """Return one host: status, per-source status, system info, findings, incidents."""
    return {"name": h.name, "status": h.status, "reason": h.reason, "status_note": h.status_note,
            "groups": list(h.groups), "sources": [source_dict(s) for s in h.sources], "system": dict(h.system),
            "findings": [finding_dict(f) for f in h.findings], "incidents": [incident_dict(i) for i in h.incidents],
            "temperature_points": len(h.temperatures)}


def twin_dict(t: TwinDiff) -> Dict[str, Any]:
    """Return one twin difference."""
    return {"group": t.group, "kind": t.kind, "item": t.item, "values": dict(t.values),
            "odd_ones_out": list(t.odd_ones_out)}


def comparison_dict(c: Comparison) -> Dict[str, Any]:
    """Return the matrix and twin diffs."""
    return {"hosts": list(c.hosts), "checks": list(c.checks),
            "matrix": {check: dict(row) for check, row in c.matrix.items()}, "twins": [twin_dict(t) for t in c.twins]}


def to_dict(report: FleetReport) -> Dict[str, Any]:
    """Return the whole report as JSON-ready dicts and lists."""
    resolved: List[Dict[str, Any]] = [finding_dict(f) for f in report.resolved]
    return {"schema": report.schema, "run": {"id": report.run_id, "generated_at": report.generated_at,
                                             "inventory": report.inventory_path, "fail_on": report.fail_on,
                                             "exit_status": report.exit_status},
            "hosts": [host_dict(h) for h in report.hosts], "incidents": [incident_dict(i) for i in report.incidents],
            "comparison": comparison_dict(report.comparison), "resolved": resolved}


def render_json(report: FleetReport) -> str:
    """Render the report as stable JSON text (sorted keys, indent 2, trailing newline)."""
    return json.dumps(to_dict(report), sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
