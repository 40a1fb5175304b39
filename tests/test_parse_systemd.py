"""systemd timers (real unit files from this machine), time spans, enablement, owners, running services."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from fleetaudit.facts import Process, TimerUnit
from fleetaudit.parse.lines import StatsBuilder
from fleetaudit.parse.systemd import build_services, parse_span, parse_systemctl_units, parse_timer, with_enablement

TIMERS = Path(__file__).parent / "data" / "parse" / "timers"
LINKS = ("/etc/systemd/system/timers.target.wants/apt-daily.timer\t/lib/systemd/system/apt-daily.timer\n"
         "/etc/systemd/system/multi-user.target.wants/lircd.service\t/lib/systemd/system/lircd.service\n"
         "/etc/systemd/system/multi-user.target.wants/cron.service\t/lib/systemd/system/cron.service\n"
         "/etc/systemd/system/sockets.target.wants/lircd.socket\t/lib/systemd/system/lircd.socket\n"
         "/etc/systemd/system/man-db.timer\t/dev/null\n"
         "/etc/systemd/system/logtemp.service\t\n")
OWNERS = ("/var/lib/dpkg/info/lirc.list:/lib/systemd/system/lircd.service\n"
          "/var/lib/dpkg/info/lirc.list:/lib/systemd/system/irexec.service\n"
          "/var/lib/dpkg/info/motion.list:/lib/systemd/system/motion.service\n"
          "/var/lib/dpkg/info/cron.list:/lib/systemd/system/cron.service\n")


@pytest.mark.parametrize("text,seconds", [
    ("12h", 43200), ("60m", 3600), ("1h 30min", 5400), ("6000", 6000), ("1d", 86400), ("100ms", 0),
    ("5 min 3s", 303), ("", None), ("abc", None), ("12 parsecs", None),
])
def test_spans(text: str, seconds: Optional[int]) -> None:
    assert parse_span(text) == seconds


def _timer(name: str) -> TimerUnit:
    timer = parse_timer(str(TIMERS / name), f"files/lib/systemd/system/{name}", StatsBuilder("t"))
    assert timer is not None
    return timer


def test_real_timer_files() -> None:
    daily = _timer("apt-daily.timer")
    assert daily.on_calendar == ("*-*-* 6,18:00",) and daily.randomized_delay_s == 43200 and daily.persistent
    assert daily.unit == "apt-daily.service"
    upgrade = _timer("apt-daily-upgrade.timer")
    assert upgrade.on_calendar == ("*-*-* 6:00",) and upgrade.randomized_delay_s == 3600
    assert _timer("logrotate.timer").on_calendar == ("daily",)
    assert _timer("fstrim.timer").randomized_delay_s == 6000
    assert _timer("man-db.timer").persistent


def test_on_calendar_reset_and_enablement(tmp_path: Path) -> None:
    path = tmp_path / "x.timer"
    path.write_text("[Timer]\nOnCalendar=daily\nOnCalendar=\nOnCalendar=*-*-* 1:00\nOnCalendar=*-*-* 2:00\n"
                    "AccuracySec=12h\nUnit=y.service\n")
    timer = parse_timer(str(path), "x.timer", StatsBuilder("t"))
    assert timer is not None
    assert timer.on_calendar == ("*-*-* 1:00", "*-*-* 2:00") and timer.accuracy_s == 43200 and timer.unit == "y.service"
    daily = _timer("apt-daily.timer")
    man = _timer("man-db.timer")
    got = {t.name: t.enabled for t in with_enablement([daily, man, timer], LINKS)}
    assert got == {"apt-daily.timer": True, "man-db.timer": False, "x.timer": False}
    assert {t.enabled for t in with_enablement([daily], None)} == {None}


def test_services_without_systemd_use_processes() -> None:
    procs = [Process(480, "root", "lircd", "/usr/sbin/lircd --nodaemon"),
             Process(481, "pi", "irexec", "/usr/bin/irexec"),
             Process(500, "root", "vpnserver", "/usr/libexec/softether/vpnserver/vpnserver execsvc")]
    services = build_services(LINKS + "/etc/systemd/system/multi-user.target.wants/softether-vpnserver.service\tx\n",
                              OWNERS, "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                              "Failed to connect to bus: Host is down\n", procs)
    got = {s.name: (s.enabled, s.running, s.package) for s in services}
    assert got == {"cron.service": (True, False, "cron"), "lircd.service": (True, True, "lirc"),
                   "softether-vpnserver.service": (True, True, ""), "irexec.service": (False, True, "lirc")}


def test_services_from_systemctl() -> None:
    units = ("cron.service   loaded active   running Regular background program processing daemon\n"
             "lircd.service  loaded active   running Flexible IR remote input/output application support\n"
             "motion.service loaded active   running Motion detection video capture daemon\n"
             "apt-daily.service loaded inactive dead Daily apt download activities\n")
    assert parse_systemctl_units(units) == {"cron.service": True, "lircd.service": True, "motion.service": True,
                                            "apt-daily.service": False}
    services = {s.name: s for s in build_services(LINKS, OWNERS, units, [])}
    assert services["motion.service"].running and services["motion.service"].enabled is False
    assert services["lircd.service"].package == "lirc"
