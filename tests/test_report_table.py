"""The terminal report: golden file, colour only on request, hostile strings neutralised."""

from __future__ import annotations

from dataclasses import replace

from test_report_fixture import PI, check_golden, fleet_report, pi_findings

from fleetaudit.report.sanitize import CLIP_MARKER, clean
from fleetaudit.report.table import render_table


def test_golden_table() -> None:
    check_golden("report.txt", render_table(fleet_report(), color=False))


def test_no_ansi_without_colour_and_some_with() -> None:
    assert "\x1b" not in render_table(fleet_report(), color=False)
    coloured = render_table(fleet_report(), color=True)
    assert "\x1b[1;31mcritical\x1b[0m" in coloured and "\x1b[1;35munreachable\x1b[0m" in coloured


def test_table_shows_incidents_twins_and_statuses() -> None:
    text = render_table(fleet_report(), color=False)
    assert "11 runs landed at 05:04" in text
    assert "package lirc: pi-incident=0.10.1-6.3, pi-twin=absent; odd one out: pi-incident" in text
    assert "pi-offline: unreachable (connection refused (127.0.0.9:22))" in text
    assert "sources: auth denied" in text


def test_hostile_host_strings_are_neutralised() -> None:
    evil_host = "pi\x1b[2J\x1b]0;owned\x07-\u202eevil"
    findings = tuple(replace(f, summary=f.summary + "\x1b[31m" + "x" * 2000) for f in pi_findings())
    report = fleet_report(pi_name=evil_host, pi_findings_=findings)
    resolved = replace(findings[0], summary="gone \x1b[5m\u2066now\u2069", status="resolved")
    text = render_table(replace(report, resolved=(resolved,)), color=False)
    assert "\x1b" not in text and "\u202e" not in text and "\u2066" not in text
    assert "pi-<U+202E>evil" in text and "<U+2066>now<U+2069>" in text


def test_clean_clips_and_strips() -> None:
    assert clean("a" * 500, 10) == "a" * 10 + CLIP_MARKER
    assert clean("bell\x07 nul\x00 tab\t") == "bell\\x07 nul\\x00 tab\t"
    assert clean("line1\nline2") == "line1 line2"
    assert clean(PI) == PI


def test_host_status_note_from_history_is_shown() -> None:
    report = fleet_report(pi_findings_=pi_findings())
    hosts = tuple(replace(h, status_note="unreachable since 2 runs") if h.name != PI else h for h in report.hosts)
    text = render_table(replace(report, hosts=hosts), color=False)
    assert "[unreachable since 2 runs]" in text
