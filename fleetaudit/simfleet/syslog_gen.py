"""Syslog lines of a simulated Pi (rsyslog traditional format, Raspberry Pi OS buster, year 2020).

Each generator returns ``Line`` tuples; ``render`` formats them as
``Sep  1 05:04:01 rasp3bprs1 CRON[2345]: (pi) CMD (/usr/local/bin/logtemp.sh)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Iterable, List, NamedTuple, Sequence

from fleetaudit.simfleet.story import PERIOD_DAYS, PERIOD_START, Burst

LOGGER_COMMAND = "/usr/local/bin/logtemp.sh"
HOURLY = "   cd / && run-parts --report /etc/cron.hourly"
DAILY = "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )"
LIRCD_TAG = "lircd-0.10.1[480]"
LIRCD_ERROR = "Error: No /sys/class/rc/ devices found"


class Line(NamedTuple):
    """One syslog line before formatting."""

    at: dt.datetime
    tag: str                 # e.g. "CRON[2345]", "systemd[1]"
    message: str


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render(line: Line, hostname: str) -> str:
    """Return the line in rsyslog's traditional file format, with its newline."""
    at = line.at
    return (f"{_MONTHS[at.month - 1]} {at.day:2d} {at.hour:02d}:{at.minute:02d}:{at.second:02d} "
            f"{hostname} {line.tag}: {line.message}\n")


class Pids:
    """A deterministic, growing PID counter like a busy Pi's."""

    def __init__(self, seed: int, start: int = 2000) -> None:
        self._rng = random.Random(seed)
        self._pid = start

    def next(self) -> int:
        """Return the next PID."""
        self._pid += self._rng.randint(2, 30)
        if self._pid > 32000:
            self._pid = 1000
        return self._pid


def assign_pids(lines: Sequence[Line], pids: Pids) -> List[Line]:
    """Return the lines with each ``{pid}`` placeholder in a tag replaced by a growing PID, in order."""
    return [line._replace(tag=line.tag.format(pid=pids.next())) if "{pid}" in line.tag else line for line in lines]


def cron_logger_lines(run_times: Sequence[dt.datetime]) -> List[Line]:
    """Return one CRON CMD line per logger run; a catch-up's runs start 1-2 s apart from :06 (as captured)."""
    out: List[Line] = []
    for minute, group in itertools.groupby(run_times):
        count = len(list(group))
        seconds = [1] if count == 1 else [6 + (i * 9) // 10 for i in range(count)]
        out += [Line(minute + dt.timedelta(seconds=s), "CRON[{pid}]", f"(pi) CMD ({LOGGER_COMMAND})") for s in seconds]
    return out


def _in_gap(at: dt.datetime, bursts: Sequence[Burst]) -> bool:
    """Return True when cron was stalled at ``at`` (between a burst's first missed slot and the burst)."""
    return any((b.drift_from or b.gap_from) <= at < b.at for b in bursts)


def cron_system_lines(bursts: Sequence[Burst] = ()) -> List[Line]:
    """Return the /etc/crontab hourly and daily CMD lines; wildcard-hour jobs are not replayed after a stall."""
    out: List[Line] = []
    for day in range(PERIOD_DAYS):
        base = PERIOD_START + dt.timedelta(days=day)
        for hour in range(24):
            at = base + dt.timedelta(hours=hour, minutes=17, seconds=1)
            if not _in_gap(at, bursts):
                out.append(Line(at, "CRON[{pid}]", f"(root) CMD ({HOURLY})"))
        out.append(Line(base + dt.timedelta(hours=6, minutes=25, seconds=1), "CRON[{pid}]", f"(root) CMD ({DAILY})"))
    return out


_UNITS = {
    "apt-daily": "Daily apt download activities",
    "apt-daily-upgrade": "Daily apt upgrade and clean activities",
    "logrotate": "Rotate log files",
    "man-db": "Daily man-db regeneration",
}


def unit_run(at: dt.datetime, unit: str, seconds: int = 3) -> List[Line]:
    """Return systemd 241's three lines for one run of a timer-started service."""
    text = _UNITS[unit]
    return [
        Line(at, "systemd[1]", f"Starting {text}..."),
        Line(at + dt.timedelta(seconds=seconds), "systemd[1]", f"{unit}.service: Succeeded."),
        Line(at + dt.timedelta(seconds=seconds), "systemd[1]", f"Started {text}."),
    ]


def timer_lines(seed: int, apt_daily_extra: Sequence[dt.datetime] = ()) -> List[Line]:
    """Return the daily timer runs (apt-daily twice a day with its 12 h random delay, upgrade, logrotate, man-db)."""
    rng = random.Random(seed)
    out: List[Line] = []
    for day in range(PERIOD_DAYS):
        base = PERIOD_START + dt.timedelta(days=day)
        out += unit_run(base + dt.timedelta(seconds=rng.randint(0, 40)), "logrotate", 1)
        out.append(Line(base + dt.timedelta(seconds=45), "rsyslogd",
                        '[origin software="rsyslogd" swVersion="8.1901.0" x-pid="345" '
                        'x-info="https://www.rsyslog.com"] rsyslogd was HUPed'))
        out += unit_run(base + dt.timedelta(hours=6, seconds=rng.randint(0, 3600)), "apt-daily-upgrade", 9)
        out += unit_run(base + dt.timedelta(hours=9, seconds=rng.randint(0, 43200)), "apt-daily", 6)
        out += unit_run(base + dt.timedelta(hours=1, seconds=rng.randint(0, 7200)), "man-db", 12)
    for at in apt_daily_extra:
        out += unit_run(at, "apt-daily", 6)
    return out


def lircd_connect(at: dt.datetime) -> List[Line]:
    """Return what lircd 0.10.1 logs when a client (irexec) connects and there is no IR hardware (captured)."""
    texts = ("Notice: accepted new client on /var/run/lirc/lircd", "Info: initializing 'auto'",
             "Notice: No input device available for devinput driver."
             " Consider stopping lircd.socket or reconfigure lirc",
             LIRCD_ERROR, "Warning: Failed to initialize hardware")
    return [Line(at, LIRCD_TAG, text) for text in texts]


def lircd_notice_lines(seed: int, start: dt.datetime, end: dt.datetime) -> List[Line]:
    """Return lircd's occasional client-connect lines (a few a day) between start and end."""
    rng = random.Random(seed)
    out: List[Line] = []
    at = start
    while at < end:
        out += lircd_connect(at)
        at += dt.timedelta(seconds=rng.randint(3 * 3600, 9 * 3600))
    return out


def lircd_flood(start: dt.datetime, seconds: int) -> List[Line]:
    """Return lircd's once-a-second error, as it logs while a client such as irexec stays connected."""
    return lircd_connect(start) + [Line(start + dt.timedelta(seconds=s), LIRCD_TAG, LIRCD_ERROR)
                                   for s in range(1, seconds)]


def merged(*streams: Iterable[Line]) -> List[Line]:
    """Return every line of every stream in time order (stable for equal times)."""
    out: List[Line] = [line for stream in streams for line in stream]
    out.sort(key=lambda line: line.at)
    return out


def until(lines: Sequence[Line], end: dt.datetime) -> List[Line]:
    """Return the lines before ``end``."""
    return [line for line in lines if line.at < end]
