"""The JSON report: valid against docs/report.schema.json, stable, and pinned by a golden file."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict

import jsonschema
from test_report_fixture import PI, check_golden, fleet_report

from fleetaudit.model import Finding
from fleetaudit.report.jsonout import plain, render_json, to_dict

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"


def schema() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_report_validates_against_the_schema() -> None:
    jsonschema.Draft202012Validator(schema()).validate(json.loads(render_json(fleet_report())))


def test_report_with_resolved_and_odd_evidence_validates() -> None:
    odd = Finding(PI, "logger.gap", "warning", "gap", "2020-09-02T01:00:00", "2020-09-02T02:00:00",
                  {"when": dt.datetime(2020, 9, 2, 1, 0), "set": {"b", "a"}, "nan": float("nan"), "obj": object,
                   "nested": {"t": (1, 2)}}, status="resolved", fingerprint="old")
    report = replace(fleet_report(), resolved=(odd,))
    data = json.loads(render_json(report))
    jsonschema.Draft202012Validator(schema()).validate(data)
    evidence = data["resolved"][0]["evidence"]
    assert evidence["when"] == "2020-09-02T01:00:00" and evidence["set"] == ["a", "b"]
    assert evidence["nan"] == "nan" and evidence["nested"] == {"t": [1, 2]}


def test_contract_fields_and_values() -> None:
    data = to_dict(fleet_report())
    assert data["schema"] == "fleetaudit/report/v1"
    assert data["run"]["exit_status"] == 2
    pi, twin, offline = data["hosts"]
    assert offline["status"] == "unreachable" and offline["reason"].startswith("connection refused")
    assert {"name": "auth", "status": "denied"}.items() <= pi["sources"][1].items()
    burst = next(f for f in pi["findings"] if f["check"] == "logger.burst")
    assert set(burst) == {"host", "check", "severity", "summary", "start", "end", "evidence", "status", "fingerprint"}
    assert burst["evidence"]["count"] == 11 and burst["fingerprint"]
    assert data["comparison"]["matrix"]["logger.burst"]["pi-offline"] == "unreachable"
    lirc = [t for t in data["comparison"]["twins"] if t["item"] == "lirc"]
    assert lirc and lirc[0]["odd_ones_out"] == [PI]
    assert twin["findings"][0]["status"] == "ongoing"


def test_render_is_stable() -> None:
    assert render_json(fleet_report()) == render_json(fleet_report())


def test_plain_handles_dates() -> None:
    assert plain(dt.date(2020, 9, 1)) == "2020-09-01"


def test_golden_json() -> None:
    check_golden("report.json", render_json(fleet_report()))
