"""Crontab parser: Debian cron's wildcard vs fixed-time rule (FORMATS.md section 1) and the real capture's crontabs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import pytest

from fleetaudit.parse.crontab import expand, parse_crontabs, parse_line

CATCHUP = Path(__file__).parent / "data" / "cron" / "catchup"
EVERY5 = tuple(range(0, 60, 5))
ALL_HOURS = tuple(range(24))


@pytest.mark.parametrize("line,wildcard,catches_up,interval", [
    ("0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * * pi /usr/local/bin/logtemp.sh", False, True, 5),
    ("0-59/5 0-23 * * *\tpi\t/usr/local/bin/logtemp.sh range_step", False, True, 5),
    ("*/5 * * * *\tpi\t/x", True, False, 5),
    ("0,5,10,15,20,25,30,35,40,45,50,55 * * * * pi /x", True, False, 5),
    ("0-59/5 * * * * pi /x", True, False, 5),
    ("*/5 0-23 * * * pi /x", True, False, 5),
    ("17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly", True, False, 60),
    ("25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )", False, True,
     1440),
    ("47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.weekly )", False, True,
     None),
    ("@reboot pi /usr/local/bin/start.sh", False, False, None),
    ("@hourly root /x", True, False, 60),
    ("@daily root /x", False, True, 1440),
    ("@weekly root /x", False, True, None),
    ("@monthly root /x", False, True, None),
    ("@yearly root /x", False, True, None),
    ("@annually root /x", False, True, None),
    ("@midnight root /x", False, True, 1440),
    ("0 */2 * * * root /x", True, False, 120),
    ("30 4 1 jan,jul mon-fri root /x", False, True, None),
])
def test_system_crontab_lines(line: str, wildcard: bool, catches_up: bool, interval: Optional[int]) -> None:
    job = parse_line(line, "files/etc/crontab", 1, None)
    assert job is not None
    assert (job.wildcard, job.catches_up, job.interval_minutes) == (wildcard, catches_up, interval)


@pytest.mark.parametrize("line", ["", "# comment", "SHELL=/bin/sh", "PATH=/usr/bin:/bin", "MAILTO=\"\"",
                                  "61 * * * * root /x", "* * * * root", "@sometimes root /x"])
def test_not_jobs(line: str) -> None:
    assert parse_line(line, "f", 1, None) is None


@pytest.mark.parametrize("field,low,high,expected", [
    ("*/15", 0, 59, (0, 15, 30, 45)), ("1-5", 0, 23, (1, 2, 3, 4, 5)), ("1,3,5-7", 0, 23, (1, 3, 5, 6, 7)),
    ("10-20/5", 0, 59, (10, 15, 20)), ("0-59/5", 0, 59, EVERY5), ("7", 0, 6, (0,)), ("x", 0, 59, None),
    ("5-1", 0, 59, None), ("*/0", 0, 59, None),
])
def test_expand(field: str, low: int, high: int, expected: Optional[Tuple[int, ...]]) -> None:
    assert expand(field, low, high) == expected


def test_user_crontab_has_no_user_field(tmp_path: Path) -> None:
    spool = tmp_path / "crontabs"
    spool.mkdir()
    (spool / "pi").write_text("# m h dom mon dow command\n*/10 * * * * /home/pi/x.sh\nMAILTO=pi\n")
    jobs, stats = parse_crontabs([(str(spool / "pi"), "files/var/spool/cron/crontabs/pi")])
    assert [(j.user, j.command, j.lineno) for j in jobs] == [("pi", "/home/pi/x.sh", 2)]
    assert stats.bad_lines == 0


@pytest.mark.skipif(not (CATCHUP / "etc_cron.d_logtemp").exists(), reason="real capture not present")
def test_real_capture_crontabs_match_what_real_cron_did() -> None:
    """The capture ran these jobs with cron stopped 04:05-05:04: only fixed_list and range_step caught up."""
    files = [(str(CATCHUP / "etc_cron.d_logtemp"), "files/etc/cron.d/logtemp"),
             (str(CATCHUP / "crontab_pi"), "files/var/spool/cron/crontabs/pi")]
    jobs, stats = parse_crontabs(files)
    by_name = {j.command.split()[-1]: j for j in jobs}
    assert set(by_name) == {"fixed_list", "range_step", "star_step", "star_step_hours", "user_list_star_hour",
                            "user_hourly"}
    assert {n for n, j in by_name.items() if j.catches_up} == {"fixed_list", "range_step"}
    assert by_name["user_hourly"].schedule == "@hourly" and by_name["user_hourly"].user == "pi"
    assert all(j.minutes == EVERY5 and j.hours == ALL_HOURS for n, j in by_name.items() if n != "user_hourly")
    assert stats.bad_lines == 0
