"""dpkg status, dpkg-query, apt history.log and dpkg.log; real excerpts from this machine's lirc install."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fleetaudit.parse.apt_history import dpkg_line, parse_dpkg_log, parse_history, parse_items
from fleetaudit.parse.dpkg import parse_query, parse_status

PARSE = Path(__file__).parent / "data" / "parse"

HISTORY = """
Start-Date: 2024-01-02  03:04:05
Commandline: apt-get install vim
Requested-By: pi (1000)
Install: vim-runtime:all (2:9.0.1378-2, automatic), vim:armhf (2:9.0.1378-2)
Upgrade: openssl:armhf (3.0.9-1, 3.0.11-1~deb12u1)
End-Date: 2024-01-02  03:04:30

Start-Date: 2024-01-05  10:00:00
Commandline: apt purge lirc
Purge: lirc:armhf (0.10.1-7.2)
Remove: liblirc0:armhf (0.10.1-7.2)
End-Date: 2024-01-05  10:00:09
"""


@pytest.mark.parametrize("line,expected", [
    ("2024-01-02 03:04:11 install vim:armhf <none> 2:9.0.1378-2", ("install", "vim", "2:9.0.1378-2")),
    ("2024-01-02 03:04:12 upgrade openssl:armhf 3.0.9-1 3.0.11-1~deb12u1", ("upgrade", "openssl", "3.0.11-1~deb12u1")),
    ("2024-01-05 10:00:01 remove liblirc0:armhf 0.10.1-7.2 <none>", ("remove", "liblirc0", "0.10.1-7.2")),
    ("2024-01-05 10:00:02 purge lirc:armhf 0.10.1-7.2 <none>", ("purge", "lirc", "0.10.1-7.2")),
    ("2024-01-02 03:04:11 status half-installed vim:armhf 2:9.0.1378-2", None),
    ("2024-01-02 03:04:15 configure vim:armhf 2:9.0.1378-2 <none>", None),
    ("2024-01-02 03:04:16 trigproc man-db:armhf 2.11.2-2 <none>", None),
    ("2024-01-02 03:04:10 startup archives unpack", None),
])
def test_dpkg_lines(line: str, expected: object) -> None:
    action = dpkg_line(line)
    assert (None if action is None else (action.action, action.package, action.version)) == expected


def test_history_stanzas(tmp_path: Path) -> None:
    path = tmp_path / "history.log"
    path.write_text(HISTORY)
    actions, stats = parse_history([(str(path), "history.log")])
    got = [(a.action, a.package, a.version, a.automatic) for a in actions]
    assert got == [("install", "vim-runtime", "2:9.0.1378-2", True), ("install", "vim", "2:9.0.1378-2", False),
                   ("upgrade", "openssl", "3.0.11-1~deb12u1", False), ("purge", "lirc", "0.10.1-7.2", False),
                   ("remove", "liblirc0", "0.10.1-7.2", False)]
    assert actions[0].at == dt.datetime(2024, 1, 2, 3, 4, 5) and actions[0].requested_by == "pi (1000)"
    assert actions[0].commandline == "apt-get install vim" and stats.bad_lines == 0


def test_items_upgrade_keeps_new_version() -> None:
    assert parse_items("Upgrade", "a:armhf (1, 2), b:all (3, 4)") == [("a", "2", False), ("b", "4", False)]


def test_query_output() -> None:
    assert [(p.name, p.arch, p.version) for p in parse_query("lirc:armhf\t0.10.1-7.2\nbash\t5.2.15-2+b2\n")] == [
        ("lirc", "armhf", "0.10.1-7.2"), ("bash", "", "5.2.15-2+b2")]


def test_status_half_states(tmp_path: Path) -> None:
    path = tmp_path / "status"
    path.write_text("Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n continued\n\n"
                    "Package: b\nStatus: install reinstreq half-installed\nVersion: 2\n\n"
                    "Package: c\nStatus: deinstall ok config-files\nVersion: 3\n")
    packages, _stats = parse_status(str(path))
    assert [(p.name, p.status) for p in packages] == [("a", "install ok installed"),
                                                       ("b", "install reinstreq half-installed")]


def test_real_status_excerpt() -> None:
    packages, stats = parse_status(str(PARSE / "dpkg_status"))
    names = {p.name: p for p in packages}
    assert {"lirc", "softether-vpnserver", "cron"} <= set(names)
    assert names["lirc"].version == "0.10.1-7.2" and names["lirc"].status == "install ok installed"
    assert stats.freeze().bad_lines == 0


def test_real_history_and_dpkg_log_excerpts() -> None:
    hist, _s = parse_history([(str(PARSE / "apt_history.log"), "history.log")])
    lirc = [a for a in hist if a.package == "lirc"]
    assert len(lirc) == 1 and lirc[0].action == "install" and not lirc[0].automatic
    assert "lirc" in lirc[0].commandline and lirc[0].at == dt.datetime(2026, 12, 3, 17, 3, 14)
    assert any(a.action == "upgrade" for a in hist)
    log, stats = parse_dpkg_log([(str(PARSE / "dpkg.log"), "dpkg.log")])
    assert ("install", "lirc", "0.10.1-7.2") in [(a.action, a.package, a.version) for a in log]
    assert stats.freeze().bad_lines == 0
