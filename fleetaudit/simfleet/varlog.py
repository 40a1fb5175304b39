"""Write a simulated Pi's /var/log: rotated syslog, auth.log, apt and dpkg logs, and (incident) lircd's flood.

The incident Pi's flood of ``lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found`` starts late on
2020-09-13 and is written until the partition is full (ENOSPC on a tmpfs) or the byte budget is spent, so
the log ends mid-line around ``FILL_AT`` and the 2020-09-14 burst never reaches syslog.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from fleetaudit.simfleet import packages_gen, story, system_gen
from fleetaudit.simfleet import syslog_gen as sg
from fleetaudit.simfleet.spec import SimHostSpec

FILL_AT = dt.datetime(2020, 9, 14, 2, 30)           # when the incident's log partition fills up
ROTATE_1 = dt.datetime(2020, 9, 8)                  # syslog.2.gz: Sep 1-7, syslog.1: Sep 8-13, syslog: Sep 14-
ROTATE_0 = dt.datetime(2020, 9, 14)


def _size(logdir: Path) -> int:
    """Return the bytes of every file under ``logdir``."""
    return sum(p.stat().st_size for p in logdir.rglob("*") if p.is_file())


def _free(logdir: Path, budget: Optional[int]) -> int:
    """Return the bytes /var/log can still take: the tmpfs's free space, or what is left of the budget."""
    if budget is None:
        st = os.statvfs(logdir)
        return st.f_bavail * st.f_frsize
    return max(budget - _size(logdir), 0)


def write_until_full(path: Path, lines: Sequence[sg.Line], hostname: str, cap: Optional[int]) -> Tuple[int, bool]:
    """Write the lines until done, ENOSPC, or ``cap`` bytes; return (bytes written, filled up).

    A full disk or the cap cuts the file mid-line, as it does a syslog daemon's file.
    """
    data = _text(lines, hostname).encode()
    capped = cap is not None and len(data) >= cap
    if cap is not None:
        data = data[:cap]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        written, full = _write_all(fd, data)
    finally:
        os.close(fd)
    return written, full or capped


def _write_all(fd: int, data: bytes, chunk: int = 65536) -> Tuple[int, bool]:
    """Write ``data`` in chunks (short writes retried); return (bytes written, True if the disk filled up)."""
    view = memoryview(data)
    written = 0
    while written < len(data):
        try:
            written += os.write(fd, view[written:written + chunk])
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                return written, True
            raise
    return written, False


def _text(lines: Sequence[sg.Line], hostname: str) -> str:
    """Return the lines rendered as one text."""
    return "".join(sg.render(line, hostname) for line in lines)


def _between(lines: Sequence[sg.Line], start: dt.datetime, end: dt.datetime) -> List[sg.Line]:
    """Return the lines in [start, end)."""
    return [line for line in lines if start <= line.at < end]


def write_small_logs(spec: SimHostSpec, logdir: Path, lirc_version: Optional[str], end: dt.datetime) -> None:
    """Write auth.log, apt/history.log and dpkg.log."""
    (logdir / "apt").mkdir(parents=True, exist_ok=True)
    (logdir / "apt/history.log").write_text(packages_gen.apt_history(lirc_version), encoding="utf-8")
    (logdir / "dpkg.log").write_text(packages_gen.dpkg_log(lirc_version), encoding="utf-8")
    auth = system_gen.render_auth(system_gen.auth_lines(spec.seed + 50, end), spec.name)
    (logdir / "auth.log").write_text(auth, encoding="utf-8")
    os.chmod(logdir / "auth.log", 0o640)


def write_rotated(logdir: Path, lines: Sequence[sg.Line], hostname: str) -> None:
    """Write syslog.2.gz (Sep 1-7) from the lines."""
    data = _text(_between(lines, story.PERIOD_START, ROTATE_1), hostname).encode()
    (logdir / "syslog.2.gz").write_bytes(gzip.compress(data, mtime=0))
    os.chmod(logdir / "syslog.2.gz", 0o640)


def flood_lines(logdir: Path, normal: Sequence[sg.Line], hostname: str, budget: Optional[int]) -> List[sg.Line]:
    """Return lircd's lines: a few notices a day, then a once-a-second flood sized to fill /var/log at FILL_AT."""
    normal_bytes = len(_text(_between(normal, ROTATE_1, FILL_AT), hostname).encode())
    line_bytes = len(sg.render(sg.Line(FILL_AT, sg.LIRCD_TAG, sg.LIRCD_ERROR), hostname))
    seconds = max((_free(logdir, budget) - normal_bytes) // line_bytes, 60)
    start = max(FILL_AT - dt.timedelta(seconds=seconds), ROTATE_1)
    notices = sg.lircd_notice_lines(11, story.PERIOD_START + dt.timedelta(minutes=43), start)
    flood_seconds = int((FILL_AT - start).total_seconds()) + 7200
    return notices + sg.lircd_flood(start, flood_seconds)


def write_var_log(spec: SimHostSpec, logdir: Path, normal: Sequence[sg.Line], lirc_version: Optional[str],
                  budget: Optional[int]) -> Dict[str, object]:
    """Write the whole /var/log; the incident's ends full. ``budget`` None on a tmpfs means fill to ENOSPC."""
    logdir.mkdir(parents=True, exist_ok=True)
    flooding = lirc_version is not None and (budget is not None or os.path.ismount(logdir))
    end = FILL_AT if flooding else story.PERIOD_END
    write_small_logs(spec, logdir, lirc_version, end)
    write_rotated(logdir, normal, spec.name)
    lines = list(normal)
    if flooding:
        lines = sg.merged(normal, flood_lines(logdir, normal, spec.name, budget))
    elif lirc_version is not None:
        lines = sg.merged(normal, sg.lircd_notice_lines(11, story.PERIOD_START, story.PERIOD_END))
    older = _between(lines, ROTATE_1, ROTATE_0)
    cap = _free(logdir, budget) if budget is not None else None
    written, full = write_until_full(logdir / "syslog.1", older, spec.name, cap)
    cap = _free(logdir, budget) if budget is not None else None
    if not full:
        written, full = write_until_full(logdir / "syslog", _between(lines, ROTATE_0, story.PERIOD_END), spec.name, cap)
    return {"log_full": full, "log_bytes": _size(logdir)}
