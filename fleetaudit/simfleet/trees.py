"""Build a simulated Pi's file tree in a plain directory, without starting anything.

``build_tree(spec, dest)`` writes ``dest/etc/...``, ``dest/var/log/...`` etc. (absolute paths re-rooted at
``dest``). The fleet bind-mounts the ``BIND_PATHS`` of the tree over the real paths inside the host's
namespace; the local transport and tests can read the same tree directly.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from fleetaudit.simfleet import packages_gen, softether_gen, story, system_gen
from fleetaudit.simfleet import syslog_gen as sg
from fleetaudit.simfleet.spec import SimHostSpec
from fleetaudit.simfleet.varlog import write_var_log

# Tree paths bound over the real ones inside a running host (files and directories).
BIND_PATHS: Tuple[str, ...] = (
    "etc/hostname", "etc/os-release", "etc/crontab", "etc/cron.d", "etc/systemd/system", "lib/systemd/system",
    "var/spool/cron", "var/log", "var/logger", "var/lib/dpkg", "usr/local/bin", "usr/local/vpnserver",
    "sys/firmware", "sys/class/thermal",
)
LOGGER_DB = "var/logger/logging.db"
VPN_DIR = "usr/local/vpnserver"
SQLITE_WRITER_OFFSET = 96
SQLITE_BUSTER_VERSION = 3027002


@dataclass(frozen=True)
class Scenario:
    """The per-profile facts a tree is generated from."""

    bursts: Tuple[story.Burst, ...]
    lirc: bool
    unclean_vpn_starts: Tuple[dt.datetime, ...]
    clean_vpn_restarts: Tuple[dt.datetime, ...]
    apt_daily_extra: Tuple[dt.datetime, ...]


INCIDENT = Scenario(
    bursts=story.INCIDENT_BURSTS, lirc=True,
    unclean_vpn_starts=(dt.datetime(2020, 9, 1, 5, 5, 12, 331000), dt.datetime(2020, 9, 14, 4, 40, 9, 87000)),
    clean_vpn_restarts=(dt.datetime(2020, 9, 8, 3, 3, 30, 12000),),
    apt_daily_extra=(dt.datetime(2020, 9, 1, 4, 3, 17), dt.datetime(2020, 9, 14, 3, 58, 40)),
)
HEALTHY = Scenario(
    bursts=(), lirc=False, unclean_vpn_starts=(),
    clean_vpn_restarts=(dt.datetime(2020, 9, 8, 3, 3, 41, 520000), dt.datetime(2020, 9, 12, 22, 14, 5, 3000)),
    apt_daily_extra=(),
)


def scenario(spec: SimHostSpec) -> Scenario:
    """Return the scenario of the host's profile."""
    return INCIDENT if spec.profile == "incident" else HEALTHY


def write_file(dest: Path, rel: str, content: str | bytes, mode: int = 0o644) -> Path:
    """Write one file of the tree (creating its directories) and return its path."""
    path = dest / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def write_logger_db(path: Path, rows: Sequence[Tuple[str, float]]) -> None:
    """Write the logger's SQLite DB: table temperatures(timestamp TEXT, temperature REAL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(str(path))
    try:
        con.execute("PRAGMA page_size = 4096")
        con.execute("CREATE TABLE temperatures(timestamp TEXT, temperature REAL)")
        con.executemany("INSERT INTO temperatures(timestamp, temperature) VALUES (?, ?)", rows)
        con.commit()
    finally:
        con.close()
    pin_sqlite_version(path)


def pin_sqlite_version(path: Path) -> None:
    """Stamp the header's informational "last writer" version as buster's SQLite, whatever library wrote it.

    Bytes 96..99 of an SQLite file only record which library version last wrote it; fixing them keeps the
    DB's bytes independent of the machine's libsqlite3 (and says 3.27.2, the version a buster Pi has).
    """
    with path.open("r+b") as db:
        db.seek(SQLITE_WRITER_OFFSET)
        db.write(SQLITE_BUSTER_VERSION.to_bytes(4, "big"))


def write_identity(spec: SimHostSpec, dest: Path) -> None:
    """Write hostname, os-release, the Pi model and the SoC temperature."""
    model = spec.model.encode() + b"\0"
    write_file(dest, "etc/hostname", spec.name + "\n")
    write_file(dest, "etc/os-release", system_gen.OS_RELEASE)
    write_file(dest, "proc/device-tree/model", model, 0o444)
    write_file(dest, "sys/firmware/devicetree/base/model", model, 0o444)
    temp = 47236 if spec.profile == "healthy" else 51540
    write_file(dest, "sys/class/thermal/thermal_zone0/temp", f"{temp}\n", 0o444)


def write_cron(dest: Path) -> None:
    """Write /etc/crontab, /etc/cron.d and pi's crontab with the fixed-time logger line."""
    write_file(dest, "etc/crontab", system_gen.ETC_CRONTAB)
    write_file(dest, "etc/cron.d/.placeholder", "# DO NOT EDIT OR REMOVE\n# This file is a simple placeholder\n")
    write_file(dest, "var/spool/cron/crontabs/pi", system_gen.PI_CRONTAB, 0o600)
    write_file(dest, "usr/local/bin/logtemp.sh", system_gen.LOGTEMP_SH, 0o755)


def write_units(dest: Path, lirc: bool) -> None:
    """Write unit files, the local SoftEther unit and the enablement symlinks."""
    for name, text in system_gen.unit_files(lirc).items():
        write_file(dest, f"lib/systemd/system/{name}", text)
    write_file(dest, "etc/systemd/system/softether-vpnserver.service", system_gen.VPN_UNIT)
    for link, target in system_gen.enablement_links(lirc):
        path = dest / "etc/systemd/system" / link
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.symlink_to(target)


def write_packages(dest: Path, lirc: bool) -> str:
    """Write /var/lib/dpkg (status and unit-owning info lists); return the status text."""
    status = packages_gen.dpkg_status(lirc)
    write_file(dest, "var/lib/dpkg/status", status)
    for name, text in packages_gen.info_lists(lirc).items():
        write_file(dest, f"var/lib/dpkg/info/{name}", text)
    return status


def write_softether(spec: SimHostSpec, dest: Path, sc: Scenario, end: dt.datetime) -> None:
    """Write the SoftEther server and security logs (one file per day)."""
    lines = softether_gen.server_lines(spec.seed + 100, sc.unclean_vpn_starts, sc.clean_vpn_restarts, end)
    for name, text in softether_gen.by_day(lines, "vpn").items():
        write_file(dest, f"{VPN_DIR}/server_log/{name}", text)
    for name, text in softether_gen.by_day(softether_gen.security_lines(lines), "sec").items():
        write_file(dest, f"{VPN_DIR}/security_log/DEFAULT/{name}", text)


def normal_syslog(spec: SimHostSpec, sc: Scenario) -> list[sg.Line]:
    """Return the host's syslog lines for the whole period, without lircd's flood."""
    lines = sg.merged(
        sg.cron_logger_lines(story.run_times(sc.bursts)),
        sg.cron_system_lines(sc.bursts),
        sg.timer_lines(spec.seed + 7, sc.apt_daily_extra),
    )
    return sg.assign_pids(lines, sg.Pids(spec.seed))


def build_tree(spec: SimHostSpec, dest: Path, log_budget: Optional[int] = None) -> Dict[str, object]:
    """Build the host's whole tree under ``dest`` and return a summary (files written, log fill time).

    For the incident profile /var/log is filled with lircd's error until it holds ``log_budget`` bytes
    (default ``spec.log_partition_bytes``) or, when ``dest/var/log`` is a mount point (a tmpfs), until ENOSPC.
    """
    sc = scenario(spec)
    dest.mkdir(parents=True, exist_ok=True)
    write_identity(spec, dest)
    write_cron(dest)
    write_units(dest, sc.lirc)
    status = write_packages(dest, sc.lirc)
    write_logger_db(dest / LOGGER_DB, story.logger_rows(sc.bursts, seed=spec.seed))
    write_softether(spec, dest, sc, story.PERIOD_END)
    lirc_version = packages_gen.package_version(status, "lirc") if sc.lirc else None
    budget = None if os.path.ismount(dest / "var/log") else (log_budget or spec.log_partition_bytes)
    summary = write_var_log(spec, dest / "var/log", normal_syslog(spec, sc), lirc_version, budget)
    return {"name": spec.name, "profile": spec.profile, **summary}
