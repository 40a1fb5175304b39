"""Package state of a simulated Pi: dpkg status, dpkg info lists, apt history.log and dpkg.log.

The status file and the unit lines of the info lists are package data (``data/dpkg/``, see
``data/README.md``): a Pi's package set that holds lirc; the healthy twin gets it without the lirc stanzas.
Nothing here reads the machine, so every tree has the same bytes everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from importlib import resources
from typing import Dict, List, Sequence, Tuple

LIRC_PACKAGES = ("lirc", "liblirc0", "liblirc-client0")
DATA = resources.files("fleetaudit.simfleet").joinpath("data")
LIRC_INSTALL = dt.datetime(2020, 8, 12, 18, 21, 7)


def stanzas(text: str) -> List[str]:
    """Return the status file's stanzas (each ending with its blank line)."""
    return [part.strip("\n") + "\n\n" for part in re.split(r"\n\s*\n", text) if part.strip()]


def stanza_name(stanza: str) -> str:
    """Return the Package: field of one stanza."""
    match = re.match(r"Package: (\S+)", stanza)
    return match.group(1) if match else ""


def dpkg_status(with_lirc: bool) -> str:
    """Return the shipped dpkg status file, with the lirc stanzas present or removed."""
    return "".join(s for s in _shipped_stanzas() if with_lirc or stanza_name(s) not in LIRC_PACKAGES)


@functools.lru_cache(maxsize=1)
def _shipped_stanzas() -> Tuple[str, ...]:
    """Return the stanzas of ``data/dpkg/status`` (read once per process)."""
    return tuple(stanzas(DATA.joinpath("dpkg").joinpath("status").read_text(encoding="utf-8")))


def package_version(status: str, name: str) -> str:
    """Return a package's Version: from a status text ('' when absent)."""
    for stanza in stanzas(status):
        if stanza_name(stanza) == name:
            match = re.search(r"^Version: (\S+)", stanza, re.M)
            return match.group(1) if match else ""
    return ""


def info_lists(with_lirc: bool) -> Dict[str, str]:
    """Return ``info/<pkg>.list`` contents reduced to each package's systemd unit files (the audit reads those)."""
    return {name: text for name, text in _shipped_lists().items()
            if with_lirc or name[:-5].split(":")[0] not in LIRC_PACKAGES}


@functools.lru_cache(maxsize=1)
def _shipped_lists() -> Dict[str, str]:
    """Return list name -> text of ``data/dpkg/info/*.list``, sorted by name (read once per process)."""
    entries = [e for e in DATA.joinpath("dpkg").joinpath("info").iterdir() if e.name.endswith(".list")]
    return {e.name: e.read_text(encoding="utf-8") for e in sorted(entries, key=lambda e: e.name)}


def apt_stanza(start: dt.datetime, command: str, body: Sequence[Tuple[str, str]], seconds: int = 25) -> str:
    """Return one history.log stanza (blank line first; two spaces inside the dates)."""
    end = start + dt.timedelta(seconds=seconds)
    lines = ["", f"Start-Date: {start:%Y-%m-%d  %H:%M:%S}", f"Commandline: {command}", "Requested-By: pi (1000)"]
    lines += [f"{tag}: {value}" for tag, value in body]
    lines.append(f"End-Date: {end:%Y-%m-%d  %H:%M:%S}")
    return "\n".join(lines) + "\n"


def apt_history(lirc_version: str | None) -> str:
    """Return history.log: the logger's sqlite3 install, an upgrade, and (incident Pi) `apt-get install lirc`."""
    parts = [apt_stanza(dt.datetime(2020, 7, 30, 20, 2, 41), "apt-get install sqlite3",
                        [("Install", "sqlite3:armhf (3.27.2-3+deb10u1)")], 9)]
    if lirc_version:
        parts.append(apt_stanza(LIRC_INSTALL, "apt-get install lirc", [("Install", ", ".join((
            f"liblirc0:armhf ({lirc_version}, automatic)", f"lirc:armhf ({lirc_version})",
            f"liblirc-client0:armhf ({lirc_version}, automatic)")))], 38))
    parts.append(apt_stanza(dt.datetime(2020, 9, 8, 3, 2, 11), "apt-get upgrade",
                            [("Upgrade", "libssl1.1:armhf (1.1.1d-0+deb10u3, 1.1.1g-1+deb10u1), "
                                         "openssl:armhf (1.1.1d-0+deb10u3, 1.1.1g-1+deb10u1)")], 64))
    return "".join(parts)


def _dpkg_install(at: dt.datetime, pkg: str, version: str) -> List[str]:
    """Return dpkg.log lines for installing one package."""
    stamp = f"{at:%Y-%m-%d %H:%M:%S}"
    return [f"{stamp} install {pkg}:armhf <none> {version}", f"{stamp} status half-installed {pkg}:armhf {version}",
            f"{stamp} status unpacked {pkg}:armhf {version}"]


def _dpkg_configure(at: dt.datetime, pkg: str, version: str) -> List[str]:
    """Return dpkg.log lines for configuring one package."""
    stamp = f"{at:%Y-%m-%d %H:%M:%S}"
    return [f"{stamp} configure {pkg}:armhf {version} <none>", f"{stamp} status unpacked {pkg}:armhf {version}",
            f"{stamp} status half-configured {pkg}:armhf {version}", f"{stamp} status installed {pkg}:armhf {version}"]


def dpkg_log(lirc_version: str | None) -> str:
    """Return dpkg.log with the lirc install (incident Pi) and the September upgrade."""
    lines: List[str] = []
    if lirc_version:
        at = LIRC_INSTALL + dt.timedelta(seconds=6)
        lines.append(f"{at:%Y-%m-%d %H:%M:%S} startup archives unpack")
        for i, pkg in enumerate(("liblirc0", "lirc", "liblirc-client0")):
            lines += _dpkg_install(at + dt.timedelta(seconds=2 + i), pkg, lirc_version)
        cfg = at + dt.timedelta(seconds=12)
        lines.append(f"{cfg:%Y-%m-%d %H:%M:%S} startup packages configure")
        for pkg in ("liblirc0", "liblirc-client0", "lirc"):
            lines += _dpkg_configure(cfg, pkg, lirc_version)
        lines.append(f"{cfg:%Y-%m-%d %H:%M:%S} trigproc man-db:armhf 2.8.5-2 <none>")
    up = dt.datetime(2020, 9, 8, 3, 2, 20)
    lines.append(f"{up:%Y-%m-%d %H:%M:%S} startup archives unpack")
    for pkg in ("libssl1.1", "openssl"):
        lines.append(f"{up:%Y-%m-%d %H:%M:%S} upgrade {pkg}:armhf 1.1.1d-0+deb10u3 1.1.1g-1+deb10u1")
    return "\n".join(lines) + "\n"
