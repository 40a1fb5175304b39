"""Normalise report.json hosts so that two runs can be compared (run ids, timings and byte counts left out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

HostView = Tuple[str, Tuple[Tuple[str, str, Tuple[str, ...]], ...], Tuple[str, ...]]


def load_report(reports: Path) -> Dict[str, Any]:
    """Return reports/latest/report.json."""
    data: Dict[str, Any] = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    return data


def hosts(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Return the report's hosts by name."""
    return {h["name"]: h for h in report["hosts"]}


def _finding(f: Dict[str, Any]) -> str:
    keep = {k: f[k] for k in ("check", "severity", "summary", "start", "end", "evidence", "fingerprint")}
    return json.dumps(keep, sort_keys=True)


def view(host: Dict[str, Any]) -> HostView:
    """Return what must not change between runs: status, per-source status and files, every finding."""
    sources = tuple(sorted((s["name"], s["status"], tuple(s["files"])) for s in host["sources"]))
    findings = tuple(sorted(_finding(f) for f in host["findings"]))
    return host["status"], sources, findings


def views(report: Dict[str, Any], names: List[str]) -> Dict[str, HostView]:
    """Return ``view`` of the named hosts."""
    by_name = hosts(report)
    return {n: view(by_name[n]) for n in names}
