"""The incident Pi and its twin, end to end: host trees -> collect -> snapshot -> facts -> checks -> reports.

The incident Pi's tree is built to the owner's description (rows every 5 minutes over Sep 1-15 2020, eleven rows at
2020-09-01 05:04 after 04:05, eleven at 2020-09-14 04:39 after minutes-late runs, 288 rows a day, SoftEther starting
after each burst with no shutdown, lirc installed a month earlier). The run goes through the real collect engine
(directory transport) and the real parsers; golden files pin the terminal table and the JSON of this fleet.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List

import pytest
from test_report_fixture import check_golden

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.inventory import load_inventory
from fleetaudit.model import Finding, FleetReport
from fleetaudit.pipeline import analyze
from fleetaudit.report.jsonout import render_json
from fleetaudit.report.table import render_table
from fleetaudit.simfleet import build_tree, default_fleet

INVENTORY = """\
defaults:
  expected_services: [softether-vpnserver.service, cron.service, ssh.service]
  logger: {db_path: /var/logger/logging.db, table: temperatures, timestamp_column: timestamp, interval_minutes: 5}
hosts:
  rasp3bprs1: {path: trees/rasp3bprs1}
  rasp3bprs2: {path: trees/rasp3bprs2}
groups:
  softether_3bplus: [rasp3bprs1, rasp3bprs2]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> FleetReport:
    """Build both trees, collect them through the engine and analyze the snapshot."""
    base = tmp_path_factory.mktemp("incident")
    for spec in default_fleet()[:2]:
        build_tree(spec, base / "trees" / spec.name)
    (base / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    inventory = load_inventory(str(base / "inventory.yaml"))
    run = collect(inventory, inventory.hosts, str(base / "reports"), CollectOptions(run_id="20200915T060000Z-e2e0"))
    return analyze(run, inventory, generated_at="2020-09-15T06:00:00+00:00")


def findings(report: FleetReport, host: str) -> Dict[str, List[Finding]]:
    """Return the host's findings by check id."""
    out: Dict[str, List[Finding]] = {}
    for h in report.hosts:
        if h.name == host:
            for f in h.findings:
                out.setdefault(f.check, []).append(f)
    return out


def test_exactly_the_two_bursts_the_drift_and_no_other_logger_finding(report: FleetReport) -> None:
    pi = findings(report, "rasp3bprs1")
    bursts = sorted((f.evidence["stamp"], f.evidence["count"], f.evidence["missing_slots"]) for f in pi["logger.burst"])
    assert bursts == [("2020-09-01T05:04", 11, 11), ("2020-09-14T04:39", 11, 11)]
    gap_from = {f.evidence["stamp"]: f.evidence["gap_from"] for f in pi["logger.burst"]}
    assert gap_from["2020-09-01T05:04"] == "2020-09-01T04:05"
    drift = pi["logger.late_drift"]
    assert len(drift) == 1 and drift[0].evidence["start"].startswith("2020-09-14T03")
    assert "logger.gap" not in pi and "logger.daily_count" not in pi


def test_cause_follows_what_cron_logged(report: FleetReport) -> None:
    causes = {f.evidence["stamp"]: f.evidence["cause"] for f in findings(report, "rasp3bprs1")["logger.burst"]}
    assert causes["2020-09-01T05:04"] == "cron_catchup"       # its CMD lines are all in the 05:04 minute
    assert causes["2020-09-14T04:39"] == "unknown"            # the full partition lost that night's syslog


def test_the_rest_of_the_story_and_a_quiet_twin(report: FleetReport) -> None:
    pi, twin = findings(report, "rasp3bprs1"), findings(report, "rasp3bprs2")
    starts = {f.evidence["started_at"][:16] for f in pi["vpn.unclean_restart"]}
    assert starts == {"2020-09-01T05:05", "2020-09-14T04:40"}
    assert {f.evidence["service"] for f in pi["services.unexpected"]} >= {"lircd.service"}
    assert pi["logs.noisy_program"][0].evidence["program"].startswith("lircd")
    assert len(pi["thermal.spike"]) == 2 and "logs.lost_window" in pi
    for check in ("logger.burst", "logger.late_drift", "vpn.unclean_restart", "services.unexpected", "thermal.spike",
                  "logs.noisy_program", "logs.lost_window", "disk.log_partition_full"):
        assert check not in twin, check


def test_incidents_tell_the_story_and_the_twin_diff_names_lirc(report: FleetReport) -> None:
    stories = [i.story for i in report.incidents if i.host == "rasp3bprs1"]
    assert len(stories) == 2 and not [i for i in report.incidents if i.host == "rasp3bprs2"]
    first, second = stories
    assert "11 runs landed at 05:04" in first and "vpnserver started at 05:05" in first and "rose" in first
    assert "11 runs landed at 04:39" in second and "lost" in second
    odd = {(d.kind, d.item): d.odd_ones_out for d in report.comparison.twins}
    assert odd[("package", "lirc")] == ("rasp3bprs1",)
    assert odd[("service_enabled", "lircd.service")] == ("rasp3bprs1",)


def _stable_json(report: FleetReport) -> str:
    """Return the JSON report without what legitimately varies between machines (timings, paths)."""
    data = json.loads(render_json(report))
    data["inventory_path"] = data["run"]["inventory"] = "<inventory>"
    for host in data["hosts"]:
        for source in host.get("sources", []):
            source["duration_s"] = 0
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_golden_terminal_table_and_json_of_the_simulated_fleet(report: FleetReport) -> None:
    table = re.sub(r"\d+\.\d+ s\b", "<t> s", render_table(report, color=False))
    check_golden("simulated_fleet.txt", table)
    check_golden("simulated_fleet.json", _stable_json(report))


def test_report_paths_are_under_the_run(report: FleetReport) -> None:
    assert report.run_id == "20200915T060000Z-e2e0"
    assert Path(report.inventory_path).name == "inventory.yaml"


def test_chart_marks_every_vpn_start_clean_or_not(report: FleetReport) -> None:
    from fleetaudit.report.chart import render_chart, vpn_starts

    pi = next(h for h in report.hosts if h.name == "rasp3bprs1")
    days = {at.date().isoformat() for at in vpn_starts(pi)}
    assert {"2020-09-01", "2020-09-08", "2020-09-14"} <= days     # Sep 8 is the clean restart
    assert render_chart(pi).startswith("data:image/png;base64,")


def test_a_long_temperature_series_is_thinned_without_losing_the_peak() -> None:
    import datetime as dt

    from fleetaudit.facts import HostFacts, LoggerData, LoggerRow
    from fleetaudit.pipeline import temperatures

    start = dt.datetime(2020, 1, 1)
    rows = tuple(LoggerRow(i, start + dt.timedelta(minutes=5 * i), "", 45.0 + (30.0 if i == 77_777 else 0.0))
                 for i in range(105_120))
    facts = HostFacts(host="pi", logger=LoggerData("/db", "t", "timestamp", 5, rows))
    series = temperatures(facts)
    assert 5000 <= len(series) <= 6000 and max(t for _, t in series) == 75.0
    assert series == tuple(sorted(series))
