"""Checks over real captures: Debian cron under libfaketime, stopped 04:05-05:04, read by the real parsers.

`cause` must agree with what real cron did: the fixed-time forms (`0,5,...,55 0-23`, `0-59/5 0-23`) replayed
the eleven missed runs at 05:04 (cron_catchup); the wildcard forms skipped them (a gap, no burst).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List

import pytest

from fleetaudit.checks import CheckContext, run_checks
from fleetaudit.facts import HostFacts
from fleetaudit.model import Finding, Host, LoggerSpec

CATCHUP = Path(__file__).resolve().parent / "data" / "cron" / "catchup"
pytestmark = pytest.mark.skipif(not (CATCHUP / "syslog").exists(), reason="cron catch-up capture not present")


def capture_facts(db: str, syslog: str = "syslog") -> HostFacts:
    """Build facts for one logger DB of the capture with the real parsers."""
    from fleetaudit.parse.crontab import parse_crontabs
    from fleetaudit.parse.loggerdb import read_logger
    from fleetaudit.parse.syslog import scan_syslog

    jobs, _ = parse_crontabs([(str(CATCHUP / "etc_cron.d_logtemp"), "files/etc/cron.d/logtemp"),
                              (str(CATCHUP / "crontab_pi"), "files/var/spool/cron/crontabs/pi")])
    log = scan_syslog([(str(CATCHUP / syslog), "files/var/log/syslog")], reference=dt.datetime(2020, 9, 2))
    data = read_logger(str(CATCHUP / f"{db}.db"), LoggerSpec(interval_minutes=5))
    return HostFacts(host="capture", source_status={"syslog": "ok", "logger_db": "ok"}, coverage=(log.coverage,),
                     cron_runs=log.cron_runs, clock_events=log.clock_events, cron_jobs=jobs, logger=data)


def logger_findings(db: str, syslog: str = "syslog") -> List[Finding]:
    ctx = CheckContext(Host("capture", logger=LoggerSpec(interval_minutes=5)), (), None)
    return [f for f in run_checks(capture_facts(db, syslog), ctx) if f.check.startswith("logger.")]


@pytest.mark.parametrize("syslog", ["syslog", "syslog.rfc3339"])
@pytest.mark.parametrize("db", ["fixed_list", "range_step"])
def test_fixed_time_jobs_burst_with_cron_catchup(db: str, syslog: str) -> None:
    found = logger_findings(db, syslog)
    bursts = [f for f in found if f.check == "logger.burst"]
    assert len(bursts) == 1, found
    ev = bursts[0].evidence
    assert ev["stamp"].startswith("2020-09-01T05:04") and ev["gap_from"].startswith("2020-09-01T04:05")
    assert (ev["count"], ev["missing_slots"], ev["cause"]) == (11, 11, "cron_catchup")
    assert any("fixed-time job" in line for line in ev["cause_evidence"])
    assert [f for f in found if f.check == "logger.gap"] == []


@pytest.mark.parametrize("db", ["star_step", "star_step_hours", "user_list_star_hour"])
def test_wildcard_jobs_leave_a_gap_and_no_burst(db: str) -> None:
    found = logger_findings(db)
    assert [f for f in found if f.check == "logger.burst"] == []
    gaps = [f.evidence for f in found if f.check == "logger.gap"]
    assert len(gaps) == 1 and gaps[0]["start"].endswith("04:10") and gaps[0]["end"].endswith("05:00")
    assert gaps[0]["missing_slots"] == 11
