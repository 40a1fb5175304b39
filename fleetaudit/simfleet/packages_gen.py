"""Package state of a simulated Pi: dpkg status, dpkg info lists, apt history.log and dpkg.log.

The status file is this machine's real ``/var/lib/dpkg/status`` (it holds lirc), re-labelled armhf;
the healthy twin gets it without the lirc stanzas.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

LIRC_PACKAGES = ("lirc", "liblirc0", "liblirc-client0")
LIRC_FALLBACK_VERSION = "0.10.1-6.3"
REAL_STATUS = Path("/var/lib/dpkg/status")
REAL_INFO = Path("/var/lib/dpkg/info")
_UNIT_RE = re.compile(r"/systemd/system/[^/]+\.(service|timer|socket)$")
LIRC_INSTALL = dt.datetime(2020, 8, 12, 18, 21, 7)
_MINIMAL_STATUS = """Package: openssh-server
Status: install ok installed
Priority: optional
Section: net
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
Architecture: armhf
Version: 1:7.9p1-10+deb10u2
Description: secure shell (SSH) server, for secure access from remote machines

"""


def stanzas(text: str) -> List[str]:
    """Return the status file's stanzas (each ending with its blank line)."""
    return [part.strip("\n") + "\n\n" for part in re.split(r"\n\s*\n", text) if part.strip()]


def stanza_name(stanza: str) -> str:
    """Return the Package: field of one stanza."""
    match = re.match(r"Package: (\S+)", stanza)
    return match.group(1) if match else ""


def _lirc_stanza(name: str) -> str:
    """Return a minimal stanza for one lirc package, for machines whose status lacks it."""
    return (f"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: utils\n"
            f"Maintainer: Debian Lirc Team <pkg-lirc-maint@lists.alioth.debian.org>\nArchitecture: armhf\n"
            f"Source: lirc\nVersion: {LIRC_FALLBACK_VERSION}\nDescription: infra-red remote control support\n\n")


def dpkg_status(with_lirc: bool, real: Path = REAL_STATUS) -> str:
    """Return a dpkg status file: the real one (armhf), with the lirc stanzas present or removed."""
    parts = list(_real_stanzas(str(real)))
    names = {stanza_name(s) for s in parts}
    if with_lirc:
        parts += [_lirc_stanza(n) for n in LIRC_PACKAGES if n not in names]
    else:
        parts = [s for s in parts if stanza_name(s) not in LIRC_PACKAGES]
    return "".join(parts)


@functools.lru_cache(maxsize=4)
def _real_stanzas(real: str) -> Tuple[str, ...]:
    """Return the machine's status stanzas re-labelled armhf (read once per process)."""
    path = Path(real)
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else _MINIMAL_STATUS
    return tuple(s.replace("Architecture: amd64", "Architecture: armhf") for s in stanzas(text))


def package_version(status: str, name: str) -> str:
    """Return a package's Version: from a status text ('' when absent)."""
    for stanza in stanzas(status):
        if stanza_name(stanza) == name:
            match = re.search(r"^Version: (\S+)", stanza, re.M)
            return match.group(1) if match else ""
    return ""


def info_lists(with_lirc: bool, real: Path = REAL_INFO) -> Dict[str, str]:
    """Return ``info/<pkg>.list`` contents reduced to each package's systemd unit files (the audit reads those)."""
    lists = _unit_lists(str(real))
    return {name: text for name, text in lists.items()
            if with_lirc or name[:-5].split(":")[0] not in LIRC_PACKAGES}


@functools.lru_cache(maxsize=4)
def _unit_lists(real: str) -> Dict[str, str]:
    """Return every package's unit-file lines from the machine's dpkg info lists (read once per process)."""
    out: Dict[str, str] = {}
    directory = Path(real)
    for path in sorted(directory.glob("*.list")) if directory.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        if "/systemd/system/" not in text:
            continue
        lines = [ln for ln in text.splitlines() if _UNIT_RE.search(ln)]
        if lines:
            out[path.name.replace(":amd64", ":armhf")] = "/.\n" + "\n".join(lines) + "\n"
    return out


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


@functools.lru_cache(maxsize=4)
def hidden_paths(with_lirc: bool, info: Path = REAL_INFO, etc: Path = Path("/etc")) -> List[str]:
    """Return the machine's files a host without lirc must not show (lirc's package files and rc links)."""
    if with_lirc:
        return []
    paths: List[str] = []
    for pkg in LIRC_PACKAGES:
        for listing in sorted(info.glob(f"{pkg}.list")) + sorted(info.glob(f"{pkg}:*.list")):
            paths += listing.read_text(encoding="utf-8", errors="replace").splitlines()
    for pattern in ("rc?.d/[SK][0-9][0-9]lirc*", "rc?.d/[SK][0-9][0-9]irexec*"):
        paths += [str(p) for p in sorted(etc.glob(pattern))]
    return [p for p in paths if p.startswith("/") and not os.path.isdir(p)]   # never a directory or /bin-like link
