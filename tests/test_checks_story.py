"""Each non-logger check fires on the incident Pi (or a variant of it) and stays silent on its healthy twin."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from test_checks_fixtures import D, findings, incident_facts, syslog_cov, twin_facts, vpn

from fleetaudit.checks import CheckContext, run_checks
from fleetaudit.facts import AuthEvent, ClockEvent, Filesystem, HostFacts, LogCoverage, LoggerData, PackageAction
from fleetaudit.model import Host, LoggerSpec, Thresholds

FIRES_ON_INCIDENT = {
    "logger.burst": 2, "logger.late_drift": 1, "disk.log_partition_full": 1, "logs.noisy_program": 1,
    "logs.lost_window": 2, "services.unexpected": 1, "packages.recent_install": 1, "vpn.unclean_restart": 2,
    "thermal.spike": 2, "auth.accepted_login": 1,
}


def test_incident_story_is_told_exactly() -> None:
    found = findings(incident_facts(), [twin_facts()])
    counts: dict[str, int] = {}
    for f in found:
        counts[f.check] = counts.get(f.check, 0) + 1
    assert counts == FIRES_ON_INCIDENT


def test_twin_raises_no_alarm() -> None:
    found = findings(twin_facts(), [incident_facts()])
    assert [f.check for f in found] == ["auth.accepted_login"]


@pytest.mark.parametrize("check_id", sorted(FIRES_ON_INCIDENT))
def test_check_fires_on_incident_and_not_on_twin(check_id: str) -> None:
    assert findings(incident_facts(), [twin_facts()], check_id)
    if check_id != "auth.accepted_login":
        assert findings(twin_facts(), [incident_facts()], check_id) == []


def test_disk_evidence_and_thresholds() -> None:
    (f,) = findings(incident_facts(), check_id="disk.log_partition_full")
    assert f.severity == "critical" and f.evidence["mount"] == "/" and f.evidence["avail_bytes"] == 0
    assert f.evidence["largest_files"][0] == {"path": "/var/log/syslog", "bytes": 14_000_000_000}
    fs = Filesystem("/dev/root", "/", 100, 86, 14, 86.0, 1000, 960, 96.0)
    assert findings(replace(twin_facts(), filesystems=(fs,)), check_id="disk.log_partition_full")[0].severity \
        == "critical"  # inodes
    fs = replace(fs, inode_use_percent=10.0)
    assert findings(replace(twin_facts(), filesystems=(fs,)), check_id="disk.log_partition_full")[0].severity \
        == "warning"


def test_noisy_program_evidence() -> None:
    (f,) = findings(incident_facts(), check_id="logs.noisy_program")
    assert f.evidence["program"] == "lircd-0.10.1" and f.evidence["share_percent"] >= 90
    assert f.evidence["sample"] == "Error: No /sys/class/rc/ devices found"


def test_lost_window_reason_partition_full_then_rotated() -> None:
    windows = findings(incident_facts(), check_id="logs.lost_window")
    assert [w.evidence["reason"] for w in windows] == ["partition full", "partition full"]
    assert windows[0].evidence["window_start"] == "2020-09-01T04:05:00"
    rotated = replace(incident_facts(), coverage=(syslog_cov(D(2020, 9, 10), D(2020, 10, 2)),),
                      filesystems=twin_facts().filesystems)
    reasons = [w.evidence["reason"] for w in findings(rotated, check_id="logs.lost_window")]
    assert reasons == ["rotated away"]   # 9/14 is covered, 9/1 is not
    missing = replace(incident_facts(), coverage=())
    assert {w.evidence["reason"] for w in findings(missing, check_id="logs.lost_window")} == {"log missing"}


def test_services_need_something_to_compare_with() -> None:
    assert findings(incident_facts(), [], "services.unexpected") == []
    ctx = CheckContext(Host("pi-incident", expected_services=("ssh", "cron", "vpnserver")), (), None)
    (f,) = [f for f in run_checks(incident_facts(), ctx) if f.check == "services.unexpected"]
    assert dict(f.evidence) == {"service": "lircd.service", "running": True, "enabled": True, "package": "lirc",
                                "installed_at": "2020-08-12T08:55:00"}


def test_recent_install_window_follows_now() -> None:
    (f,) = findings(incident_facts(), check_id="packages.recent_install")
    assert f.evidence["package"] == "lirc" and f.evidence["requested_by"] == "pi (1000)"
    late = CheckContext(Host("pi-incident"), (), D(2020, 12, 1))
    assert [f for f in run_checks(incident_facts(), late) if f.check == "packages.recent_install"] == []
    dup = PackageAction(D(2020, 8, 12, 8, 56), "install", "lirc:armhf", "0.10.1-6.3", "dpkg-log")
    facts = replace(incident_facts(), package_actions=incident_facts().package_actions + (dup,))
    assert len(findings(facts, check_id="packages.recent_install")) == 1


def test_unclean_restart_evidence() -> None:
    first = findings(incident_facts(), check_id="vpn.unclean_restart")[0]
    assert first.evidence["started_at"] == "2020-09-01T05:06:00"
    assert first.evidence["last_line_before"].endswith("TCP Listener (port 443) has started.")
    assert first.evidence["file"].endswith("vpn_20200901.log")


def test_vpn_failed_logins_both_ways() -> None:
    admin = vpn(D(2020, 9, 3, 9, 15), "admin_login_failed", 'Connection "CID-7" was unable to log in ...')
    user = [replace(vpn(D(2020, 9, 3, 9, 20 + i), "user_auth_failed", "User authentication failed."),
                    user="alice", source_ip="203.0.113.5") for i in range(5)]
    facts = replace(twin_facts(), vpn_events=twin_facts().vpn_events + (admin,) + tuple(user))
    (a,) = findings(facts, check_id="vpn.admin_login_failed")
    assert a.severity == "warning" and a.evidence["count"] == 1
    (u,) = findings(facts, check_id="vpn.user_auth_failed")
    assert u.severity == "warning" and u.evidence["users"] == ["alice"] and u.evidence["sources"] == ["203.0.113.5"]
    one = replace(twin_facts(), vpn_events=twin_facts().vpn_events + tuple(user[:1]))
    assert findings(one, check_id="vpn.user_auth_failed")[0].severity == "info"
    for check_id in ("vpn.admin_login_failed", "vpn.user_auth_failed"):
        assert findings(twin_facts(), check_id=check_id) == []


def test_failed_ssh_logins_both_ways() -> None:
    events = (AuthEvent(D(2020, 9, 5, 1, 0, 0), "invalid_user", "admin", "203.0.113.9"),
              AuthEvent(D(2020, 9, 5, 1, 0, 2), "failed", "admin", "203.0.113.9", "password"),
              AuthEvent(D(2020, 9, 5, 1, 1, 0), "invalid_user", "oracle", "203.0.113.9"))
    facts = replace(twin_facts(), auth_events=twin_facts().auth_events + events)
    (f,) = findings(facts, check_id="auth.failed_logins")
    assert f.severity == "info" and f.evidence["count"] == 2 and f.evidence["users"] == ["admin", "oracle"]
    many = replace(facts, auth_events=facts.auth_events + events[1:2] * 4)
    assert findings(many, check_id="auth.failed_logins")[0].severity == "warning"
    assert findings(twin_facts(), check_id="auth.failed_logins") == []


def test_discontinuity_kinds_and_twin() -> None:
    cov = LogCoverage("syslog", D(2020, 8, 30), D(2020, 9, 15), ("files/var/log/syslog",),
                      backwards=(("files/var/log/syslog", D(2020, 9, 2, 3, 0), D(2020, 9, 2, 2, 0)),),
                      silences=((D(2020, 9, 3, 1, 0), D(2020, 9, 3, 5, 0)),
                                (D(2020, 9, 4, 1, 0), D(2020, 9, 4, 1, 30))),
                      ended_mid_line=("files/var/log/syslog",))
    found = findings(replace(twin_facts(), coverage=(cov,)), check_id="logs.discontinuity")
    assert [(f.evidence["kind"], f.evidence["from"]) for f in found] == [
        ("backwards", "2020-09-02T03:00:00"), ("silence", "2020-09-03T01:00:00"),
        ("ended_mid_line", "2020-09-15T00:00:00")]
    no_rows = replace(twin_facts(), coverage=(cov,), logger=None, vpn_events=())
    assert [f.evidence["kind"] for f in findings(no_rows, check_id="logs.discontinuity")] == [
        "backwards", "ended_mid_line"]
    assert findings(twin_facts(), check_id="logs.discontinuity") == []


def test_clock_jump_severity() -> None:
    events = (ClockEvent(D(2020, 9, 2, 3, 0), 3540.0, "timesyncd", "Initial synchronization"),
              ClockEvent(D(2020, 9, 3, 0, 1), 40000.0, "fake-hwclock", "fake-hwclock load"),
              ClockEvent(D(2020, 9, 4, 0, 0), None, "log-backwards", "x"))
    facts = replace(twin_facts(), clock_events=events, boots=(D(2020, 9, 3, 0, 0),))
    assert [f.severity for f in findings(facts, check_id="clock.jump")] == ["warning", "info", "info"]
    assert findings(twin_facts(), check_id="clock.jump") == []


def test_source_unavailable_rules() -> None:
    status = dict(twin_facts().source_status, auth="denied", dpkg_status="missing", softether="missing",
                  journal="missing", systemctl_units="error", processes="timeout")
    facts = replace(twin_facts(), source_status=status, source_reason={"auth": "Permission denied"})
    found = {f.evidence["source"]: f.severity for f in findings(facts, check_id="source.unavailable")}
    assert found == {"auth": "warning", "dpkg_status": "critical", "processes": "warning"}
    no_syslog = replace(twin_facts(), source_status=dict(twin_facts().source_status, syslog="missing"))
    assert [f.evidence["source"] for f in findings(no_syslog, check_id="source.unavailable")] == ["syslog"]
    journal_host = replace(no_syslog, source_status=dict(no_syslog.source_status, journal="ok"))
    assert findings(journal_host, check_id="source.unavailable") == []
    assert findings(twin_facts(), check_id="source.unavailable") == []


def test_logger_db_missing_or_unreadable() -> None:
    gone = replace(twin_facts(), source_status=dict(twin_facts().source_status, logger_db="missing"), logger=None)
    assert findings(gone, check_id="source.unavailable") == []
    ctx = CheckContext(Host("pi-twin", logger=LoggerSpec(interval_minutes=5)), (), None)
    assert [f.check for f in run_checks(gone, ctx) if f.check == "source.unavailable"] == ["source.unavailable"]
    broken = replace(twin_facts(), logger=LoggerData("/var/logger/logging.db", None, None, None,
                                                     error="file is not a database"))
    (f,) = findings(broken, check_id="source.unavailable")
    assert f.evidence == {"source": "logger_db", "status": "error", "reason": "file is not a database"}


def test_thermal_spike_evidence_and_ambient() -> None:
    spikes = findings(incident_facts(), check_id="thermal.spike")
    assert [s.evidence["peak_c"] for s in spikes] == [72.0, 72.0] and spikes[0].severity == "critical"
    assert "ambient_change_c" not in spikes[0].evidence
    data = incident_facts().logger
    assert data is not None
    rows = tuple(replace(r, ambient=20.0 if r.temperature != 72.0 else 23.0) for r in data.rows)
    facts = replace(incident_facts(), logger=replace(data, rows=rows, ambient_column="ambient"))
    assert findings(facts, check_id="thermal.spike")[0].evidence["ambient_change_c"] == 3.0
    loose = CheckContext(Host("pi-incident", thresholds=Thresholds(thermal_margin_c=30.0)), (), None)
    assert [f for f in run_checks(incident_facts(), loose) if f.check == "thermal.spike"] == []


def test_now_prefers_old_evidence_over_collection_time() -> None:
    from fleetaudit.checks.common import resolve_now
    ctx = CheckContext(Host("x"), (), None)
    assert resolve_now(incident_facts(), ctx) == D(2020, 9, 15, 23, 55)
    assert resolve_now(HostFacts("x"), ctx) is None
    assert resolve_now(incident_facts(), replace(ctx, now=dt.datetime(2021, 1, 1))) == D(2021, 1, 1)
