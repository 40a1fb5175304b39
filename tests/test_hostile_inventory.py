"""Hostile and broken inventories through the real CLI: one located line per error, exit 3, nothing collected.

Every case runs ``fleetaudit run -i bad.yaml --reports DIR`` (``fleetaudit.cli.main`` in-process, and a few
as a real subprocess) and checks: exit status 3, each error line starts with ``file:line:``, no traceback,
and the reports directory was never created (nothing was collected, nothing was contacted).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetaudit.cli import main
from fleetaudit.inventory import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parent.parent
OK = "    address: 127.0.0.2\n"

# (case id, inventory text, line of the first error, a fragment of its message)
CASES: List[Tuple[str, str, int, str]] = [
    ("malformed-yaml", "hosts:\n  pi1: {address: [\n", 3, "invalid YAML"),
    ("tab-indent", "hosts:\n\tpi1:\n\t\taddress: 127.0.0.2\n", 2, "invalid YAML"),
    ("not-utf8", "hosts:\n  pi1:\n" + OK + "    user: \udcff\udcfe\n", 4, "invalid YAML"),
    ("hosts-is-a-list", "hosts:\n  - pi1\n  - pi2\n", 2, "expected a mapping"),
    ("port-not-int", "hosts:\n  pi1:\n" + OK + "    port: twenty\n", 4, "port"),
    ("port-out-of-range", "hosts:\n  pi1:\n" + OK + "    port: 70000\n", 4, "port"),
    ("sudo-not-bool", "hosts:\n  pi1:\n" + OK + "    sudo: maybe\n", 4, "sudo"),
    ("negative-cap", "hosts:\n  pi1:\n" + OK + "    log_cap_bytes: -5\n", 4, "log_cap_bytes"),
    ("threshold-not-number", "hosts:\n  pi1:\n" + OK + "    thresholds: {disk_warning_percent: hot}\n", 4,
     "disk_warning_percent"),
    ("unknown-key", "hosts:\n  pi1:\n    adress: 127.0.0.2\n", 3, "did you mean 'address'"),
    ("unknown-top-key", "hostz:\n  pi1:\n" + OK, 1, "hostz"),
    ("duplicate-host", "hosts:\n  pi1:\n" + OK + "  pi1:\n    address: 127.0.0.3\n", 4, "duplicate"),
    ("name-shell-meta", "hosts:\n  'pi;rm -rf /':\n" + OK, 2, "invalid host name"),
    ("name-command-subst", "hosts:\n  '$(touch /tmp/pwned)':\n" + OK, 2, "invalid host name"),
    ("name-path-traversal", "hosts:\n  '../../etc':\n" + OK, 2, "invalid host name"),
    ("name-slash", "hosts:\n  'a/b':\n" + OK, 2, "invalid host name"),
    ("name-dot-dot", "hosts:\n  '..':\n" + OK, 2, "invalid host name"),
    ("address-not-address", "hosts:\n  pi1:\n    address: 'not an address!'\n", 3, "address"),
    ("address-ssh-option", "hosts:\n  pi1:\n    address: '-oProxyCommand=touch /tmp/pwned'\n", 3, "address"),
    ("address-shell", "hosts:\n  pi1:\n    address: '10.0.0.1; reboot'\n", 3, "address"),
    ("jump-ssh-option", "hosts:\n  pi1:\n" + OK + "    jump: '-oProxyCommand=touch /tmp/pwned'\n", 4, "jump"),
    ("user-shell", "hosts:\n  pi1:\n" + OK + "    user: 'root;rm -rf /'\n", 4, "user"),
    ("softether-dir-relative", "hosts:\n  pi1:\n" + OK + "    softether_dirs: ['$(touch /tmp/pwned)']\n", 4,
     "softether_dirs"),
    ("ansible-bad-name", "all:\n  hosts:\n    'pi;reboot':\n      ansible_host: 127.0.0.2\n", 3, "invalid host name"),
    ("ansible-bad-address", "all:\n  hosts:\n    pi:\n      ansible_host: '$(touch /tmp/pwned)'\n", 4,
     "ansible_host"),
    ("empty-file", "", 1, "empty"),
]
BAD_INPUT_KINDS = len(CASES)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


def _run_cli(args: List[str], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str]:
    """Run fleetaudit's main in-process; return (exit status, stdout + stderr)."""
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out + out.err


@pytest.mark.parametrize(("case", "text", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_inventory_exit_3_one_line_nothing_collected(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         case: str, text: str, line: int, fragment: str) -> None:
    """Each bad inventory: exit 3, 'file:line:' first, the fragment, no traceback, no reports dir."""
    path = _write(tmp_path, text)
    reports = tmp_path / "reports"
    status, output = _run_cli(["run", "-i", str(path), "--reports", str(reports)], capsys)
    first = output.strip().splitlines()[0]
    assert status == 3, output
    assert first.startswith(f"Error: {path}:{line}: "), output
    assert fragment in output
    assert "Traceback" not in output
    assert not reports.exists(), "nothing may be collected from a bad inventory"
    assert not Path("/tmp/pwned").exists()


def test_every_error_is_exactly_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several errors: one line each, all located; no line is split by the input."""
    text = 'hosts:\n  "a\\nb":\n' + OK + '  pi2:\n    port: x\n  "c\\x1b[2Jd":\n' + OK
    path = _write(tmp_path, text)
    status, output = _run_cli(["run", "-i", str(path), "--reports", str(tmp_path / "r")], capsys)
    lines = output.strip().splitlines()
    assert status == 3
    assert len(lines) == 3, lines
    assert all(ln.removeprefix("Error: ").startswith(f"{path}:") for ln in lines), lines
    assert "\x1b" not in output, "a host name must not paint the terminal"


def test_not_utf8_error_is_located_on_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid UTF-8 on line 4 is reported as one line (the reader's position may only say line 1)."""
    path = _write(tmp_path, "hosts:\n  pi1:\n" + OK + "    user: \udcff\udcfe\n")
    status, output = _run_cli(["run", "-i", str(path), "--reports", str(tmp_path / "r")], capsys)
    assert status == 3
    assert len(output.strip().splitlines()) == 1, output


@pytest.mark.parametrize("case", ["name-shell-meta", "duplicate-host", "malformed-yaml"])
def test_bad_inventory_via_subprocess(tmp_path: Path, case: str) -> None:
    """The same through a real process: exit status 3 on stderr, nothing on stdout, no reports dir."""
    text = next(c[1] for c in CASES if c[0] == case)
    path = _write(tmp_path, text)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", "from fleetaudit.cli import main; main()", "run", "-i", str(path),
                           "--reports", str(tmp_path / "reports")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith(f"Error: {path}:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_missing_inventory_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file: exit 3 with one line naming it."""
    status, output = _run_cli(["run", "-i", str(tmp_path / "nope.yaml"), "--reports", str(tmp_path / "r")], capsys)
    assert status == 3 and "nope.yaml" in output and len(output.strip().splitlines()) == 1


NAMES = st.text(min_size=1, max_size=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_any_host_name_loads_or_gives_one_line_per_error(tmp_path: Path, names: List[str]) -> None:
    """Arbitrary host names (control chars, slashes, quotes...) load safely or give exactly one line per error."""
    path = tmp_path / "prop.yaml"
    path.write_text(yaml.safe_dump({"hosts": {n: {"address": "127.0.0.2"} for n in names}}), encoding="utf-8")
    try:
        inventory = load_inventory(str(path), ssh_config=str(tmp_path / "no_ssh_config"))
    except InventoryError as error:
        assert len(str(error).splitlines()) == len(error.errors), str(error)
        assert all(e.line >= 1 for e in error.errors)
        return
    for host in inventory.hosts:
        assert "/" not in host.name and host.name not in (".", "..") and host.name.isprintable()
