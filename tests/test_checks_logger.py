"""Logger checks on the incident's dataset (Sep 1-15 2020) and its healthy twin, plus each burst cause."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import List

import pytest
from test_checks_fixtures import (
    D,
    cmd_line,
    cron_job,
    cron_runs_for,
    findings,
    incident_facts,
    incident_rows,
    logger,
    rows_from,
    syslog_cov,
    twin_facts,
    twin_rows,
)

from fleetaudit.checks.logger_slots import analyze, detect_interval, slot_of
from fleetaudit.facts import ClockEvent, HostFacts
from fleetaudit.model import Finding

LOGGER_CHECKS = ("logger.burst", "logger.late_drift", "logger.gap", "logger.daily_count")


def logger_findings(facts: HostFacts) -> List[Finding]:
    return [f for f in findings(facts) if f.check in LOGGER_CHECKS]


def test_incident_dataset_shape() -> None:
    rows = incident_rows()
    assert sum(1 for r in rows if r.raw_stamp == "2020-09-01 05:04") == 11
    assert sum(1 for r in rows if r.raw_stamp == "2020-09-14 04:39") == 11
    assert len(rows) == 15 * 288


def test_incident_reports_exactly_two_bursts_and_the_drift() -> None:
    found = logger_findings(incident_facts())
    assert sorted(f.check for f in found) == ["logger.burst", "logger.burst", "logger.late_drift"]
    bursts = [f.evidence for f in found if f.check == "logger.burst"]
    assert [(b["stamp"], b["count"], b["missing_slots"], b["gap_from"]) for b in bursts] == [
        ("2020-09-01T05:04", 11, 11, "2020-09-01T04:05"), ("2020-09-14T04:39", 11, 11, "2020-09-14T03:44")]


def test_incident_drift_is_9_14_before_the_burst() -> None:
    (drift,) = findings(incident_facts(), check_id="logger.late_drift")
    assert drift.evidence["start"] == "2020-09-14T03:01" and drift.evidence["end"] == "2020-09-14T03:44"
    assert drift.evidence["max_late_minutes"] == 4 and drift.severity == "warning"


def test_incident_daily_counts_are_all_288() -> None:
    analysis = analyze(logger(incident_rows()))
    assert analysis is not None and analysis.expected_per_day == 288
    assert [n for _, n in analysis.days] == [288] * 15
    assert findings(incident_facts(), check_id="logger.daily_count") == []


def test_twin_has_no_logger_finding() -> None:
    assert logger_findings(twin_facts()) == []


def test_burst_cause_unknown_names_the_missing_logs() -> None:
    burst = findings(incident_facts(), check_id="logger.burst")[0]
    assert burst.evidence["cause"] == "unknown"
    text = " ".join(burst.evidence["cause_evidence"])
    assert "syslog covers only 2020-08-10T00:00:00 to 2020-08-22T11:00:00" in text and "journal: missing" in text
    assert "fixed-time job" in text


def covered(facts: HostFacts) -> HostFacts:
    return replace(facts, coverage=(syslog_cov(D(2020, 8, 30), D(2020, 9, 15, 23, 59)),))


def test_burst_cause_cron_catchup_when_cmd_lines_all_in_burst_minute() -> None:
    facts = covered(replace(incident_facts(), cron_runs=cron_runs_for(incident_rows())))
    causes = [f.evidence["cause"] for f in findings(facts, check_id="logger.burst")]
    assert causes == ["cron_catchup", "cron_catchup"]
    lines = findings(facts, check_id="logger.burst")[0].evidence["cause_evidence"]
    assert sum("CMD (/usr/local/bin/logtemp.sh)" in line for line in lines) == 11


def test_burst_cause_job_pileup_when_cron_started_jobs_on_schedule() -> None:
    on_schedule = [cmd_line(D(2020, 9, 1) + dt.timedelta(minutes=5 * i)) for i in range(288)]
    facts = covered(replace(incident_facts(), cron_runs=tuple(on_schedule)))
    assert findings(facts, check_id="logger.burst")[0].evidence["cause"] == "job_pileup"


def test_burst_cause_clock_jump_when_clock_stepped_inside_gap() -> None:
    step = ClockEvent(D(2020, 9, 1, 5, 3), 3540.0, "timesyncd", "systemd-timesyncd[400]: Initial synchronization")
    facts = replace(incident_facts(), clock_events=(step,))
    assert findings(facts, check_id="logger.burst")[0].evidence["cause"] == "clock_jump"


def test_wildcard_job_is_flagged_in_cause_evidence() -> None:
    facts = covered(replace(incident_facts(), cron_runs=cron_runs_for(incident_rows()),
                            cron_jobs=(cron_job("*/5 * * * *", catches_up=False),)))
    text = " ".join(findings(facts, check_id="logger.burst")[0].evidence["cause_evidence"])
    assert "wildcard job" in text


def test_gap_never_caught_up_is_a_gap() -> None:
    rows = [r for r in twin_rows() if not (D(2020, 9, 3, 4, 10) <= r.stamp <= D(2020, 9, 3, 5, 0))]
    facts = replace(twin_facts(), logger=logger(rows_from([(r.stamp, 48.0) for r in rows])))
    (gap,) = findings(facts, check_id="logger.gap")
    assert dict(gap.evidence) == {"start": "2020-09-03T04:10", "end": "2020-09-03T05:00", "missing_slots": 11,
                                  "after": "2020-09-03T04:05"}
    (day,) = findings(facts, check_id="logger.daily_count")
    assert dict(day.evidence) == {"day": "2020-09-03", "count": 277, "expected": 288}
    assert findings(facts, check_id="logger.burst") == []


def test_short_burst_leaves_the_rest_as_gap() -> None:
    pairs = [(D(2020, 9, 2, 4, 0), 48.0), (D(2020, 9, 2, 4, 5), 48.0)] + [(D(2020, 9, 2, 4, 34), 48.0)] * 3
    analysis = analyze(logger(rows_from(pairs)), 5)
    assert analysis is not None
    assert [(b.count, b.missing_slots) for b in analysis.bursts] == [(3, 5)]
    assert [(g.start, g.missing_slots) for g in analysis.gaps] == [(D(2020, 9, 2, 4, 10), 2)]


def test_burst_on_a_slot_minute_counts_its_own_slot_as_on_time() -> None:
    pairs = [(D(2020, 9, 2, 4, 5), 48.0)] + [(D(2020, 9, 2, 5, 5), 48.0)] * 12
    analysis = analyze(logger(rows_from(pairs)), 5)
    assert analysis is not None and [(b.count, b.missing_slots) for b in analysis.bursts] == [(12, 11)]
    assert analysis.gaps == ()


def test_single_late_row_is_not_a_gap_nor_drift() -> None:
    rows = [r if r.stamp != D(2020, 9, 3, 4, 10) else replace(r, stamp=D(2020, 9, 3, 4, 11)) for r in twin_rows()]
    facts = replace(twin_facts(), logger=logger(tuple(rows)))
    assert logger_findings(facts) == []


def test_duplicate_rows_show_in_daily_count_only() -> None:
    rows = twin_rows()
    facts = replace(twin_facts(), logger=logger(rows_from([(r.stamp, 48.0) for r in rows] + [(rows[5].stamp, 48.0)])))
    assert [f.check for f in logger_findings(facts)] == ["logger.daily_count"]


@pytest.mark.parametrize("at,slot", [(D(2020, 9, 1, 5, 4), D(2020, 9, 1, 5, 0)), (D(2020, 9, 1, 0, 0), D(2020, 9, 1)),
                                     (D(2020, 9, 1, 23, 59), D(2020, 9, 1, 23, 55))])
def test_slot_of(at: D, slot: D) -> None:
    assert slot_of(at, 5) == slot


def test_interval_is_detected_when_not_given() -> None:
    assert detect_interval([r.stamp for r in incident_rows()]) == 5
    data = replace(logger(incident_rows()), interval_minutes=None)
    analysis = analyze(data)
    assert analysis is not None and analysis.interval == 5 and len(analysis.bursts) == 2


def test_no_rows_no_findings() -> None:
    assert logger_findings(replace(twin_facts(), logger=None)) == []
    assert logger_findings(replace(twin_facts(), logger=logger(()))) == []
