"""Timeline and incidents on facts and findings modelled on the incident Pi and its twin."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Optional

import pytest
from test_report_fixture import PI, TWIN, pi_facts, pi_findings, twin_facts, twin_findings

from fleetaudit.facts import TimerUnit
from fleetaudit.model import Finding
from fleetaudit.timeline import (
    build_timeline,
    find_incidents,
    fingerprint,
    parse_calendar,
    timer_fires_within,
    timers_within,
)

D = dt.datetime


def pi_incidents() -> tuple:  # type: ignore[type-arg]
    facts, findings = pi_facts(), pi_findings()
    return find_incidents(facts, build_timeline(facts, findings), findings, 90)


def test_timeline_is_ordered_and_has_every_source() -> None:
    events = build_timeline(twin_facts(), twin_findings())
    assert [e.at for e in events] == sorted(e.at for e in events)
    kinds = {e.kind for e in events}
    assert {"logger.row", "cron.cmd", "timer.fired", "ssh.accepted", "sudo", "clock.step", "boot",
            "temperature", "auth.accepted_login"} <= kinds
    row = next(e for e in events if e.kind == "logger.row")
    assert row.value == 47.0 and row.source == "logger"


def test_aware_and_naive_mix_on_host_local_wall_clock() -> None:
    events = build_timeline(twin_facts(), ())
    assert all(e.at.tzinfo is None for e in events)
    login = next(e for e in events if e.kind == "ssh.accepted")
    assert login.at == D(2020, 9, 1, 8, 0, 2)  # 08:00:02+09:00 stays 08:00 host-local, not 23:00 UTC
    before = [e for e in events if e.at < login.at and e.kind == "logger.row"]
    assert before[-1].at == D(2020, 9, 1, 8, 0)


def test_pi_vpn_and_package_events() -> None:
    events = build_timeline(pi_facts(), pi_findings())
    assert any(e.kind == "vpn.start" and e.at == D(2020, 9, 1, 5, 5, 12) for e in events)
    assert any(e.kind == "apt.install" and "lirc" in e.text for e in events)
    assert sum(1 for e in events if e.kind == "logger.row" and e.at == D(2020, 9, 1, 5, 4)) == 11


def test_incident_pi_has_two_incidents_with_the_whole_story() -> None:
    first, second = pi_incidents()
    assert first.start.startswith("2020-09-01T04:05") and second.start.startswith("2020-09-14T03:40")
    story = first.story
    for words in ("stopped for 59 min", "11 runs landed at 05:04", "rose 9 °C with no ambient change",
                  "vpnserver started at 05:05 with no shutdown before it", "syslog for this window is lost",
                  "partition full since Aug 12", "/var/log 100% full"):
        assert words in story
    assert story.startswith("2020-09-01 04:05–") and story.endswith(".")
    assert "drifted up to 4 min late" in second.story and "landed at 04:39" in second.story


def test_incident_lists_findings_and_timers() -> None:
    first = pi_incidents()[0]
    by_check = {f.check: fingerprint(f) for f in pi_findings() if f.start and f.start.startswith("2020-09-01")}
    for check in ("logger.burst", "thermal.spike", "vpn.unclean_restart", "logs.lost_window"):
        assert by_check[check] in first.findings
    assert "apt-daily.timer" in first.timers
    assert "apt-daily-upgrade.timer" not in first.timers
    assert "backup.timer (schedule not understood: *-*-* 03:00 Europe/Berlin)" in first.timers
    assert any(e.kind == "vpn.start" for e in first.events)


def test_no_incident_on_the_twin() -> None:
    facts, findings = twin_facts(), twin_findings()
    assert find_incidents(facts, build_timeline(facts, findings), findings, 90) == ()


def test_long_discontinuity_does_not_glue_days_together() -> None:
    silence = Finding(PI, "logs.discontinuity", "warning", "syslog silent", "2020-08-12T05:00:00",
                      "2020-09-15T06:00:00", {"file": "syslog", "kind": "silence"})
    findings = pi_findings() + (silence,)
    facts = pi_facts()
    assert len(find_incidents(facts, build_timeline(facts, findings), findings, 90)) == 2


def test_window_merges_nearby_anchors() -> None:
    facts, findings = pi_facts(), pi_findings()
    assert len(find_incidents(facts, (), findings, 0)) >= 2
    assert len(find_incidents(facts, (), findings, 60 * 24 * 14)) == 1


def test_fingerprint_is_stable_and_kept_when_set() -> None:
    finding = pi_findings()[0]
    assert fingerprint(finding) == fingerprint(replace(finding, summary="other words"))
    assert fingerprint(finding) != fingerprint(replace(finding, start="2020-09-02T00:00:00"))
    assert fingerprint(replace(finding, fingerprint="abc")) == "abc"


@pytest.mark.parametrize("expr, understood", [
    ("daily", True), ("weekly", True), ("hourly", True), ("*-*-* 6,18:00", True), ("*-*-* 6:00", True),
    ("Mon *-*-* 00:00:00", True), ("Mon..Fri *-*-* 08:00", True), ("*-*-01 00:00:00", True),
    ("*-*-* 00/2:00", True), ("Sat,Sun 10:30", True), ("*-*-* 03:00 Europe/Berlin", False),
    ("*-*~03", False), ("bogus", False), ("", False),
])
def test_parse_calendar_forms(expr: str, understood: bool) -> None:
    assert (parse_calendar(expr) is not None) is understood


@pytest.mark.parametrize("calendar, spread_s, start, end, expected", [
    (("*-*-* 6,18:00",), 43260, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), True),   # 18:00 + 12h reaches 06:00
    (("*-*-* 6,18:00",), 60, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), False),
    (("*-*-* 6:00",), 3660, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), False),
    (("*-*-* 6:00",), 3660, D(2020, 9, 1, 6, 30), D(2020, 9, 1, 6, 40), True),
    (("daily",), 43200, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), True),
    (("weekly",), 3600, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4), False),          # Sep 1 2020 is a Tuesday
    (("weekly",), 3600, D(2020, 8, 31, 0, 30), D(2020, 8, 31, 0, 40), True),        # Monday 00:00 + 1h
    (("Mon *-*-* 00:00:00",), 0, D(2020, 9, 7, 0, 0), D(2020, 9, 7, 0, 1), True),
    (("*-*-* 03:00 Europe/Berlin",), 0, D(2020, 9, 1, 3, 0), D(2020, 9, 1, 4, 0), None),
    ((), 0, D(2020, 9, 1, 3, 0), D(2020, 9, 1, 4, 0), None),
])
def test_timer_fires_within(calendar: tuple, spread_s: int, start: D, end: D,  # type: ignore[type-arg]
                            expected: Optional[bool]) -> None:
    assert timer_fires_within(calendar, spread_s, start, end) is expected


def test_disabled_timer_is_not_a_suspect() -> None:
    facts = replace(pi_facts(), timers=(TimerUnit("apt-daily.timer", ("*-*-* 6,18:00",), 43200, enabled=False),))
    assert timers_within(facts, D(2020, 9, 1, 4, 5), D(2020, 9, 1, 5, 4)) == ()


def test_twin_name_unused() -> None:
    assert TWIN != PI


def test_with_the_real_checks_on_their_incident_fixture() -> None:
    """Cross-stage: the checks' own incident fixture, through the real registry, gives the same two incidents."""
    fixtures = pytest.importorskip("test_checks_fixtures")
    pi, twin = fixtures.incident_facts(), fixtures.twin_facts()
    found = fixtures.findings(pi, [twin])
    incidents = find_incidents(pi, build_timeline(pi, found), found, 90)
    assert len(incidents) == 2
    assert "11 runs landed at 05:04" in incidents[0].story and "with no shutdown before it" in incidents[0].story
    assert "is lost" in incidents[0].story and "temperature rose" in incidents[0].story
    twin_found = fixtures.findings(twin, [pi])
    assert find_incidents(twin, build_timeline(twin, twin_found), twin_found, 90) == ()


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_row_events_of_a_window_are_the_rows_stamped_in_it_in_row_order(order: str) -> None:
    import random

    from fleetaudit.facts import HostFacts, LoggerData, LoggerRow
    from fleetaudit.timeline import _RowEvents

    start = dt.datetime(2020, 9, 1)
    rows = [LoggerRow(i + 1, start + dt.timedelta(minutes=5 * (i // 3)), "", 45.0) for i in range(300)]
    rows.append(LoggerRow(301, dt.datetime(2020, 9, 1, 1, 0, tzinfo=dt.timezone.utc), "", 46.0))
    if order == "shuffled":
        random.Random(7).shuffle(rows)
    facts = HostFacts(host="pi", logger=LoggerData("/db", "t", "timestamp", 5, tuple(rows)))
    lo, hi = dt.datetime(2020, 9, 1, 0, 55), dt.datetime(2020, 9, 1, 1, 10)
    got = [(e.at, e.text) for e in _RowEvents(facts).within(lo, hi)]
    want = [(r.stamp.replace(tzinfo=None), f"row {r.rowid} stamped {r.raw_stamp}") for r in rows
            if lo <= r.stamp.replace(tzinfo=None) <= hi]
    assert got == want and len(got) == 13
