"""Tests for the nightly schedule texts (systemd units, crontab line) and the --notify command runner."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleetaudit.notify import notify
from fleetaudit.schedule import SERVICE, TIMER, cron_line, fleetaudit_executable, systemd_units

WORKDIR = "/srv/fleet audit"


def units(tmp_path: Path) -> dict[str, str]:
    """Return units for a work dir with a space, using a real executable path."""
    return systemd_units(WORKDIR, "inventory.yaml", "reports", 45, executable=sys.executable)


def parse(text: str) -> configparser.ConfigParser:
    """Parse a unit file as INI."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_service_and_timer_structure(tmp_path: Path) -> None:
    """The service runs `fleetaudit run` from the work dir with a timeout; the timer fires at 03:00."""
    found = units(tmp_path)
    assert set(found) == {SERVICE, TIMER}
    service, timer = parse(found[SERVICE]), parse(found[TIMER])
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["WorkingDirectory"] == WORKDIR
    assert service["Service"]["TimeoutStartSec"] == "45min"
    exec_start = service["Service"]["ExecStart"]
    assert shlex.split(exec_start) == [sys.executable, "run", "-i", "inventory.yaml", "--reports", "reports"]
    assert exec_start.startswith("/")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:00:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["RandomizedDelaySec"] == "5min" and timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_accepts_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong with the units; the calendar spec is valid."""
    for name, text in units(tmp_path).items():
        (tmp_path / name).write_text(text)
    files = [str(tmp_path / SERVICE), str(tmp_path / TIMER)]
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""
    calendar = subprocess.run(["systemd-analyze", "calendar", "*-*-* 03:00:00"], capture_output=True, text=True,
                              timeout=60)
    assert calendar.returncode == 0 and "03:00:00" in calendar.stdout


def test_percent_and_quotes_are_escaped(tmp_path: Path) -> None:
    """'%' is doubled for systemd and escaped for cron; odd paths stay one word."""
    found = systemd_units("/srv/50%", "inv 1.yaml", "rep", 10, executable="/opt/fa")
    assert "WorkingDirectory=/srv/50%%" in found[SERVICE]
    assert 'ExecStart=/opt/fa run -i "inv 1.yaml" --reports rep' in found[SERVICE]
    line = cron_line("/srv/50%", "inventory.yaml", "reports", 10, executable="/opt/fa")
    assert "\\%" in line and "%" not in line.replace("\\%", "")


def test_cron_line_runs_from_workdir_under_timeout(tmp_path: Path) -> None:
    """The cron line is `0 3 * * *` then cd + timeout + the absolute fleetaudit path; its command runs in sh."""
    line = cron_line(str(tmp_path), "inventory.yaml", "reports", 30, executable="/bin/echo")
    fields = line.split(" ", 5)
    assert fields[:5] == ["0", "3", "*", "*", "*"]
    assert fields[5] == f"cd {shlex.quote(str(tmp_path))} && timeout 30m /bin/echo run -i inventory.yaml " \
                        "--reports reports"
    done = subprocess.run(["sh", "-c", fields[5]], capture_output=True, text=True, timeout=60)
    assert done.stdout == "run -i inventory.yaml --reports reports\n"


def test_default_executable_is_absolute() -> None:
    """The default executable is an absolute path."""
    assert fleetaudit_executable().startswith("/") and fleetaudit_executable().endswith("fleetaudit")


# ---- notify ------------------------------------------------------------------------------------------------

def test_notify_passes_summary_on_stdin(tmp_path: Path) -> None:
    """The command gets the summary on stdin and its status is captured."""
    out = tmp_path / "mail.txt"
    summary = "fleetaudit: 2 new findings on rasp3bprs1\n  logger.burst 2020-09-14 04:39\n"
    result = notify(f"cat > {shlex.quote(str(out))}; echo sent", summary, timeout=30)
    assert result.ok and result.exit_status == 0 and result.stdout == "sent\n" and result.error == ""
    assert out.read_text() == summary


def test_notify_failure_is_a_value() -> None:
    """A failing or missing command never raises."""
    failed = notify("echo oops >&2; exit 7", "x", timeout=30)
    assert (failed.ok, failed.exit_status, failed.stderr) == (False, 7, "oops\n")
    assert "status 7" in failed.error and "oops" in failed.error
    missing = notify("/nonexistent/notifier --flag", "x", timeout=30)
    assert not missing.ok and missing.exit_status == 127


def test_notify_timeout_kills_the_command(tmp_path: Path) -> None:
    """A command that hangs is killed (with its children) at the timeout."""
    marker = tmp_path / "late"
    result = notify(f"sleep 30; touch {shlex.quote(str(marker))}", "x", timeout=0.5)
    assert result.timed_out and not result.ok and result.exit_status is None and "timed out" in result.error
    assert not marker.exists()
