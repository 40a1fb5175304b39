"""Security against the real simulated fleet: the audit is read-only, arguments are quoted, host keys are
verified, no secret lands in a report, and what fleetaudit writes is private.

One fleet is started for the module (the default fleet: incident Pi, its twin, deadhost, badkey,
changedkey, tarpit) and every test runs the real ``fleetaudit run`` in a subprocess against it.
"""

from __future__ import annotations

import json
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest
from reliability.hoststate import differences, file_count, fleet_state, host_state
from reliability.runner import edit_inventory, fleet_args, only_hosts, run_cli, run_dirs

from fleetaudit.simfleet import SimFleet, can_run, default_fleet, free_net, with_net

pytestmark = pytest.mark.fleet
CANARY = "canary-" + uuid.uuid4().hex
PASSWORD = "hunter2-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    """Yield a started default fleet of our own (the tests below log in, time out and edit inventories)."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    with SimFleet(tmp_path_factory.mktemp("secfleet"), with_net(default_fleet(), free_net(hosts=10))) as started:
        yield started


def _hosts(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {h["name"]: h for h in report["hosts"]}


def _report(reports: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    return data


def _paths(lines: List[str]) -> Set[str]:
    return {line.split(" ", 2)[1] for line in lines}


def _fingerprint(public_key: str, tmp: Path) -> str:
    path = tmp / f"key{uuid.uuid4().hex}.pub"
    path.write_text(public_key + "\n", encoding="ascii")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return out.split()[1]


def test_audit_changes_nothing_on_any_host(fleet: SimFleet, tmp_path: Path) -> None:
    """Every path of every host (tree hashed, overlay upper layer and /run listed) is identical after a run.

    A bare ``ssh host true`` login is made first as the control: whatever a plain login writes (the
    machine's own root ~/.bashrc runs ``pyenv init``, which touches ~/.pyenv/shims) is not the audit's doing.
    The audit may touch only what that bare login touches, and nothing at all in the host tree or /run.
    """
    login_paths: Set[str] = set()
    for name, host in fleet.hosts.items():
        if host.spec.has_tree and host.kind not in ("badkey", "changedkey"):
            before = host_state(host)
            subprocess.run(fleet.ssh_argv(name, "true"), capture_output=True, timeout=30, check=True)
            login_paths |= {f"{name}|{p}" for p in _paths(differences(before, host_state(host)))}
    before_all = fleet_state(fleet)
    proc = run_cli(fleet_args(fleet.inventory_path, tmp_path / "reports"), tmp_path / "home")
    assert proc.returncode == 2, proc.stderr
    after_all = fleet_state(fleet)
    report = _hosts(_report(tmp_path / "reports"))
    audited = {n: (report[n]["status"], report[n]["reason"]) for n in ("rasp3bprs1", "rasp3bprs2")}
    assert {status for status, _reason in audited.values()} == {"ok"}, audited
    for name, before in before_all.items():
        changes = differences(before, after_all[name])
        assert not [c for c in changes if " tree:" in c or " run:" in c], changes
        assert {f"{name}|{p}" for p in _paths(changes)} <= login_paths, changes
        assert file_count(before) > 50
        assert not [p for p in after_all[name] if "pwned" in p]


def test_hostile_paths_from_the_inventory_are_quoted(fleet: SimFleet, tmp_path: Path) -> None:
    """softether_dirs and the logger path with $(...), ; and backquotes run nothing on the host."""
    marks = [f"/tmp/pwned-{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]

    def edit(data: Dict[str, Any]) -> None:
        only_hosts(["rasp3bprs2"])(data)
        host = data["hosts"]["rasp3bprs2"]
        host["softether_dirs"] = [f"/usr/local/vpnserver/$(touch {marks[0]})", f"/x; touch {marks[1]} #",
                                  f"/a`touch {marks[2]}`b", f"/b' ; touch {marks[3]}; '", "/usr/local/vpnserver"]
        host["logger"] = {"db_path": f"/var/logger/$(touch {marks[4]}).db"}

    inventory = edit_inventory(fleet.inventory_path, tmp_path / "hostile.yaml", edit)
    before = host_state(fleet.hosts["rasp3bprs2"])
    proc = run_cli(fleet_args(inventory, tmp_path / "reports"), tmp_path / "home")
    assert proc.returncode in (0, 1), proc.stderr
    after = host_state(fleet.hosts["rasp3bprs2"])
    assert not [p for p in set(after) - set(before) if "pwned" in p], "a command ran from an inventory path"
    assert not any(Path(m).exists() for m in marks), "a command ran on the workstation"
    host = _hosts(_report(tmp_path / "reports"))["rasp3bprs2"]
    assert host["status"] in ("ok", "partial")
    sources = {s["name"]: s["status"] for s in host["sources"]}
    assert sources["softether"] == "ok" and sources["logger_db"] == "missing"


def _no_known_hosts(data: Dict[str, Any]) -> None:
    only_hosts(["rasp3bprs1", "rasp3bprs2", "changedkey"])(data)
    data["defaults"].pop("known_hosts", None)
    for host in data["hosts"].values():
        host.pop("known_hosts", None)


def test_unknown_host_keys_are_refused_then_trusted_on_request(fleet: SimFleet, tmp_path: Path) -> None:
    """No known_hosts: every host is hostkey_unknown; --trust-new-hosts records them 0600 and audits."""
    inventory = edit_inventory(fleet.inventory_path, tmp_path / "unknown.yaml", _no_known_hosts)
    home = tmp_path / "home"
    proc = run_cli(fleet_args(inventory, tmp_path / "r1"), home)
    hosts = _hosts(_report(tmp_path / "r1"))
    assert proc.returncode == 2
    assert {h["status"] for h in hosts.values()} == {"hostkey_unknown"}, hosts
    assert all("--trust-new-hosts" in h["reason"] for h in hosts.values())
    trust = home / ".config" / "fleetaudit" / "known_hosts"
    assert not trust.exists(), "nothing may be recorded without --trust-new-hosts"
    proc = run_cli(fleet_args(inventory, tmp_path / "r2", "--trust-new-hosts"), home)
    hosts = _hosts(_report(tmp_path / "r2"))
    assert hosts["rasp3bprs2"]["status"] == "ok", proc.stderr
    assert stat.S_IMODE(trust.stat().st_mode) == 0o600
    assert stat.S_IMODE(trust.parent.stat().st_mode) & 0o077 == 0
    recorded = trust.read_text(encoding="ascii")
    assert fleet.hosts["rasp3bprs2"].host_key.split()[1] in recorded


def test_changed_host_key_is_refused_always_with_both_fingerprints(fleet: SimFleet, tmp_path: Path) -> None:
    """A changed key: hostkey_changed, both SHA256 fingerprints in the reason, even with --trust-new-hosts."""
    inventory = edit_inventory(fleet.inventory_path, tmp_path / "changed.yaml", only_hosts(["changedkey"]))
    host = fleet.hosts["changedkey"]
    known, offered = _fingerprint(host.known_key, tmp_path), _fingerprint(host.host_key, tmp_path)
    for i, extra in enumerate(([], ["--trust-new-hosts"])):
        proc = run_cli(fleet_args(inventory, tmp_path / f"r{i}", *extra), tmp_path / "home")
        result = _hosts(_report(tmp_path / f"r{i}"))["changedkey"]
        assert proc.returncode == 2
        assert result["status"] == "hostkey_changed"
        assert known in result["reason"] and offered in result["reason"], result["reason"]
    trust = tmp_path / "home" / ".config" / "fleetaudit" / "known_hosts"
    assert not trust.exists() or host.host_key.split()[1] not in trust.read_text(encoding="ascii")


def _secrets(fleet: SimFleet) -> List[str]:
    """Return strings that must never appear in a report: key material, canaries."""
    private = fleet.client_key_path.read_text(encoding="ascii").splitlines()
    body = [line for line in private if line and "PRIVATE KEY" not in line]
    host_keys = [(h.state / "ssh_host_ed25519_key").read_text(encoding="ascii").splitlines()[1]
                 for h in fleet.hosts.values() if h.spec.has_sshd]
    return ["PRIVATE KEY", CANARY, PASSWORD, *body, *host_keys]


def test_no_secret_in_reports_and_private_modes(fleet: SimFleet, tmp_path: Path) -> None:
    """Neither key material nor the environment (canaries) reaches any file of the run, stdout or the hosts."""
    reports = tmp_path / "reports"
    proc = run_cli(fleet_args(fleet.inventory_path, reports, "-v"), tmp_path / "home",
                   {"FLEETAUDIT_CANARY": CANARY, "PASSWORD": PASSWORD, "DB_PASSWORD": PASSWORD})
    assert proc.returncode == 2
    secrets = _secrets(fleet)
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path
    assert not [s for s in secrets if s in proc.stdout + proc.stderr]
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700
    assert stat.S_IMODE((reports / "history.db").stat().st_mode) == 0o600
    for path in [*run_dirs(reports), *files]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 or path.name == ".fleetaudit.lock", path


def test_remote_symlink_to_shadow_is_not_read(fleet: SimFleet, tmp_path: Path) -> None:
    """/var/log/syslog.9 -> /etc/shadow and auth.log.9 -> ../../etc/shadow on a host: shadow never lands in
    the snapshot (a log glob must not become a way to read any file on the host)."""
    log = fleet.hosts["rasp3bprs2"].tree / "var" / "log"
    links = [(log / "syslog.9", "/etc/shadow"), (log / "auth.log.9", "../../etc/shadow")]
    for link, target in links:
        link.symlink_to(target)
    try:
        inventory = edit_inventory(fleet.inventory_path, tmp_path / "one.yaml", only_hosts(["rasp3bprs2"]))
        proc = run_cli(fleet_args(inventory, tmp_path / "reports"), tmp_path / "home")
    finally:
        for link, _target in links:
            link.unlink()
    assert proc.returncode in (0, 1), proc.stderr
    shadow = [line for line in Path("/etc/shadow").read_bytes().splitlines() if b":" in line]
    stored = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    leaked = [str(p) for p in stored for line in shadow if line in p.read_bytes()]
    assert not leaked, f"/etc/shadow content stored in {sorted(set(leaked))}"
