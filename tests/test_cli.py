"""The command line end to end: exit statuses, quiet output, history marking, lock, demo, schedule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence

import pytest

from fleetaudit.lock import RunLock
from fleetaudit.simfleet import SimFleet

CLI = [sys.executable, "-c", "from fleetaudit.cli import main; main()"]
REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def fleetaudit(args: Sequence[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess (no TTY) and return its result."""
    return subprocess.run(CLI + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV)


def lines(text: str) -> List[str]:
    """Return the non-empty lines of a text."""
    return [line for line in text.splitlines() if line.strip()]


def test_missing_inventory_is_a_usage_error(tmp_path: Path) -> None:
    result = fleetaudit(["run", "-i", "nope.yaml"], tmp_path)
    assert result.returncode == 3
    assert "nope.yaml" in result.stderr and "Traceback" not in result.stderr


def test_bad_option_is_exit_3(tmp_path: Path) -> None:
    result = fleetaudit(["run", "--jobs", "zero"], tmp_path)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr


def test_inventory_typo_names_file_line_key_and_nothing_is_collected(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text("hosts:\n  pi1:\n    adress: 192.0.2.1\n", encoding="utf-8")
    result = fleetaudit(["run", "--reports", "out"], tmp_path)
    assert result.returncode == 3
    assert "inventory.yaml:3" in result.stderr and "did you mean 'address'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_host_in_hosts_option(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text("hosts:\n  pi1:\n    address: 192.0.2.1\n", encoding="utf-8")
    result = fleetaudit(["collect", "--hosts", "pi9"], tmp_path)
    assert result.returncode == 3 and "pi9" in result.stderr


def test_lock_held_is_exit_3_naming_the_pid(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text("hosts:\n  pi1:\n    address: 192.0.2.1\n", encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    with RunLock(str(reports)):
        result = fleetaudit(["run"], tmp_path)
    assert result.returncode == 3
    assert f"PID {os.getpid()}" in result.stderr


def test_schedule_prints_units_and_cron_line(tmp_path: Path) -> None:
    systemd = fleetaudit(["schedule", "--systemd"], tmp_path)
    assert systemd.returncode == 0
    assert "OnCalendar=" in systemd.stdout and f"WorkingDirectory={tmp_path}" in systemd.stdout
    cron = fleetaudit(["schedule", "--cron"], tmp_path)
    assert cron.returncode == 0 and cron.stdout.startswith("0 3 * * * cd ") and "timeout" in cron.stdout


def test_demo_local_transport_writes_a_report(tmp_path: Path) -> None:
    result = fleetaudit(["demo", "--local"], tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert "local transport" in result.stderr
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))
    checks = {f["check"] for h in report["hosts"] if h["name"] == "rasp3bprs1" for f in h["findings"]}
    assert {"logger.burst", "vpn.unclean_restart", "services.unexpected"} <= checks
    assert "report at" in result.stdout


@pytest.mark.fleet
def test_run_against_the_fleet_exit_status_and_quiet_summary(sim_fleet: SimFleet, tmp_path: Path) -> None:
    inv = str(sim_fleet.inventory_path)
    result = fleetaudit(["run", "-i", inv, "--reports", "r", "--deadline", "15", "--connect-timeout", "3"], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr   # deadhost, badkey, changedkey, tarpit
    out = lines(result.stdout)
    assert len(out) == 1 and out[0].startswith("fleetaudit: 6 hosts, 2 audited") and "report:" in out[0]
    assert "Traceback" not in result.stderr
    report = json.loads((tmp_path / "r" / "latest" / "report.json").read_text(encoding="utf-8"))
    status = {h["name"]: h["status"] for h in report["hosts"]}
    assert status == {"rasp3bprs1": "ok", "rasp3bprs2": "ok", "deadhost": "unreachable", "badkey": "auth_failed",
                      "changedkey": "hostkey_changed", "tarpit": "timeout"}


@pytest.mark.fleet
def test_findings_exit_1_and_fail_on(sim_fleet: SimFleet, tmp_path: Path) -> None:
    inv = str(sim_fleet.inventory_path)
    incident = fleetaudit(["run", "-i", inv, "--hosts", "rasp3bprs1", "--reports", "r"], tmp_path)
    assert incident.returncode == 1, incident.stdout + incident.stderr
    never = fleetaudit(["analyze", str(tmp_path / "r" / "latest"), "--fail-on", "critical", "--format", "json"],
                       tmp_path)
    assert never.returncode == 1           # the full log partition is critical
    assert json.loads(never.stdout)["schema"] == "fleetaudit/report/v1"


@pytest.mark.fleet
def test_second_run_marks_findings_ongoing_and_history_lists_runs(sim_fleet: SimFleet, tmp_path: Path) -> None:
    inv = str(sim_fleet.inventory_path)
    args = ["run", "-i", inv, "--hosts", "rasp3bprs1,rasp3bprs2", "--reports", "r"]
    first, second = fleetaudit(args, tmp_path), fleetaudit(args, tmp_path)
    assert " new" in first.stdout and "0 new" in second.stdout, second.stdout
    report = json.loads((tmp_path / "r" / "latest" / "report.json").read_text(encoding="utf-8"))
    assert {f["status"] for h in report["hosts"] for f in h["findings"]} == {"ongoing"}
    hist = fleetaudit(["history", "--reports", "r"], tmp_path)
    assert hist.returncode == 0 and len(lines(hist.stdout)) >= 2
    runs = sorted(p.name for p in (tmp_path / "r").iterdir() if p.name[:2] == "20")
    delta = fleetaudit(["diff", runs[0], runs[1], "--reports", "r"], tmp_path)
    assert delta.returncode == 0


@pytest.mark.fleet
def test_kill_9_mid_run_leaves_latest_on_the_previous_complete_run(sim_fleet: SimFleet, tmp_path: Path) -> None:
    inv = str(sim_fleet.inventory_path)
    args = ["run", "-i", inv, "--hosts", "rasp3bprs1,rasp3bprs2", "--reports", "r"]
    assert fleetaudit(args, tmp_path).returncode == 1
    before = os.readlink(tmp_path / "r" / "latest")
    proc = subprocess.Popen(CLI + args + ["--full"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "r").glob(".*.partial")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.readlink(tmp_path / "r" / "latest") == before
    after = fleetaudit(args, tmp_path)              # the stale lock of the killed run is taken over
    assert after.returncode == 1, after.stderr
    assert os.readlink(tmp_path / "r" / "latest") != before


@pytest.mark.fleet
def test_collect_twenty_hosts_with_progress_lines(make_fleet: object, tmp_path: Path) -> None:
    from fleetaudit.simfleet import fleet_with_n_hosts

    fleet = make_fleet(fleet_with_n_hosts(20))  # type: ignore[operator]
    result = fleetaudit(["collect", "-i", str(fleet.inventory_path), "--jobs", "8", "-v", "--reports", "r"],
                        tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 of 20 hosts collected" in result.stdout
    progress = [line for line in result.stderr.splitlines() if ": ok" in line]
    assert len(progress) == 20, result.stderr


def test_demo_twice_marks_findings_ongoing(tmp_path: Path) -> None:
    first = fleetaudit(["demo", "--local"], tmp_path)
    second = fleetaudit(["demo", "--local"], tmp_path)
    assert first.returncode == second.returncode == 1, second.stderr
    assert " 0 new" not in first.stdout and " 0 new" in second.stdout, second.stdout
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))
    assert {f["status"] for h in report["hosts"] for f in h["findings"]} == {"ongoing"}


@pytest.mark.fleet
def test_notify_runs_only_when_something_is_new(sim_fleet: SimFleet, tmp_path: Path) -> None:
    inv = str(sim_fleet.inventory_path)
    args = ["run", "-i", inv, "--hosts", "rasp3bprs2", "--reports", "r", "--notify", "cat >> notified.txt"]
    assert fleetaudit(args, tmp_path).returncode == 1
    text = (tmp_path / "notified.txt").read_text(encoding="utf-8")
    assert "rasp3bprs2" in text and "vpn.user_auth_failed" in text
    assert fleetaudit(args, tmp_path).returncode == 1          # nothing new the second night: no notification
    assert (tmp_path / "notified.txt").read_text(encoding="utf-8") == text


@pytest.mark.fleet
def test_progress_display_on_a_terminal(sim_fleet: SimFleet, tmp_path: Path) -> None:
    command = " ".join(CLI[:2] + [f"'{CLI[2]}'", "collect", "-i", str(sim_fleet.inventory_path), "--hosts",
                                  "rasp3bprs1,rasp3bprs2", "--reports", "r"])
    result = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**ENV, "TERM": "xterm", "COLUMNS": "120"})
    assert result.returncode == 0, result.stdout
    assert "rasp3bprs1: ok" in result.stdout and "━" in result.stdout     # rich's bar, drawn on the pty
