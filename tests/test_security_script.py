"""Security of what the engine sends to a host, checked without the fleet: the one collect script.

sudo only as ``sudo -n`` (never a prompt that could hang a nightly run), stdin closed, every command a
constant from the declared sources, every inventory value shell-quoted; and, through the local transport
(the same script run by /bin/sh on a directory tree), hostile paths execute nothing and symlinks pointing
at the workstation's /etc/shadow or out of the tree are not followed.
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import replace
from pathlib import Path
from typing import List

import pytest

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.collect.script import build_script
from fleetaudit.collect.sources import sources_for
from fleetaudit.model import Host, Inventory, LoggerSpec

HOSTILE_DIRS = ("/usr/local/vpnserver/$(touch {m}0)", "/x; touch {m}1 #", "/a`touch {m}2`b", "/b' ; touch {m}3; '",
                "/c\"$(touch {m}4)\"", "/d\n touch {m}5")
SUDO = re.compile(r"(?<![\w-])sudo(?![\w-])")


def _host(marker: str, **changes: object) -> Host:
    dirs = tuple(d.format(m=marker) for d in HOSTILE_DIRS)
    host = Host(name="pi", address="127.0.0.2", sudo=True, softether_dirs=dirs,
                logger=LoggerSpec(db_path=f"/var/logger/$(touch {marker}6).db"))
    return replace(host, **changes)  # type: ignore[arg-type]


def _sudo_uses(script: str) -> List[str]:
    """Return the text after each executed ``sudo`` (not `command -v sudo`, not inside a printf message)."""
    uses = []
    for line in script.splitlines():
        for match in SUDO.finditer(line):
            before, after = line[: match.start()], line[match.end():]
            if before.rstrip().endswith("command -v") or "printf '" in before:
                continue
            uses.append(after[:4])
    return uses


def test_sudo_is_always_non_interactive() -> None:
    """Every sudo the script can run is ``sudo -n``, and stdin is /dev/null from the first line."""
    script = build_script(_host("/tmp/x"), sources_for(_host("/tmp/x")))
    uses = _sudo_uses(script)
    assert uses and all(u.startswith(" -n ") for u in uses), uses
    assert script.splitlines()[0] == "exec </dev/null"


def test_no_sudo_when_the_host_does_not_ask_for_it() -> None:
    """sudo: false: the script never probes sudo and never enables it (its sudo paths need FA_SUDO set)."""
    host = _host("/tmp/x", sudo=False)
    script = build_script(host, sources_for(host))
    assert "FA_SUDO=1" not in script and "sudo -n true" not in script
    assert "FA_SUDO=1" in build_script(_host("/tmp/x"), sources_for(_host("/tmp/x")))


def test_commands_are_the_declared_constants_and_values_are_quoted() -> None:
    """Each command source appears exactly as shlex.quote(command); each hostile path only quoted."""
    host = _host("/tmp/x")
    specs = sources_for(host)
    script = build_script(host, specs)
    for spec in specs:
        if spec.kind == "command":
            assert shlex.quote(spec.command) in script, spec.name
    for spec in specs:
        for pattern in spec.paths:
            assert shlex.quote(pattern) in script, pattern


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A host tree (an SD card) whose /var/log holds hostile symlinks next to a real log."""
    root = tmp_path / "sdcard"
    log = root / "var" / "log"
    log.mkdir(parents=True)
    (log / "syslog").write_text("Sep  1 00:00:01 pi CRON[1]: (pi) CMD (true)\n", encoding="utf-8")
    (log / "syslog.1").symlink_to("/etc/shadow")
    (log / "syslog.2").symlink_to("../../../../../../../etc/passwd")
    (log / "auth.log").symlink_to("/etc/shadow")
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("pi\n", encoding="utf-8")
    for d in ("/usr/local/vpnserver/server_log", "/var/logger"):
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


def test_local_host_runs_nothing_and_follows_no_symlink(tree: Path, tmp_path: Path) -> None:
    """The script on a directory host: no marker file created, no workstation file copied into the snapshot."""
    marker = str(tmp_path / f"pwned-{uuid.uuid4().hex[:6]}-")
    host = _host(marker, address=None, path=str(tree))
    inventory = Inventory(path=str(tmp_path / "inventory.yaml"), hosts=(host,), groups={})
    run = collect(inventory, [host], str(tmp_path / "reports"), CollectOptions(host_deadline=60))
    assert not list(tmp_path.glob("pwned-*")), "a hostile inventory path was executed"
    snap = run.hosts[0]
    assert snap.status in ("ok", "partial"), snap.reason
    stored = [p for p in Path(snap.directory).rglob("*") if p.is_file()]
    assert not [p for p in stored if p.is_symlink()]
    secrets = [Path(p).read_bytes() for p in ("/etc/shadow", "/etc/passwd") if Path(p).exists()]
    lines = [line for s in secrets for line in s.splitlines() if len(line) > 8]
    for path in stored:
        data = path.read_bytes()
        assert not [line for line in lines if line in data], f"{path} holds a workstation file"
    syslog = snap.source("syslog")
    assert syslog is not None and syslog.files == ("files/var/log/syslog",), syslog
    assert "symlink" in syslog.reason
