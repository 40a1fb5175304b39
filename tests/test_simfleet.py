"""The simulated fleet: tree contents (no root needed) and the running fleet over real SSH (marked fleet)."""

from __future__ import annotations

import gzip
import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import Callable, Dict, List

import pytest

from fleetaudit.simfleet import SimFleet, SimHostSpec, build_tree, default_fleet
from fleetaudit.simfleet.nsproc import pid_alive

INCIDENT, TWIN = default_fleet()[0], default_fleet()[1]


def ssh(fleet: SimFleet, name: str, command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``command`` on a simulated host with the OpenSSH client, verifying its host key."""
    return subprocess.run(fleet.ssh_argv(name, command, timeout=5), capture_output=True, text=True, timeout=timeout)


def db_counts(db: Path, sql: str) -> List[tuple[str, int]]:
    """Return (key, count) rows of a query on the logger DB."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(str(k), int(n)) for k, n in con.execute(sql)]
    finally:
        con.close()


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Build the incident and twin trees in plain directories (no namespaces)."""
    base = tmp_path_factory.mktemp("trees")
    for spec in (INCIDENT, TWIN):
        build_tree(spec, base / spec.name)
    return {"incident": base / INCIDENT.name, "twin": base / TWIN.name}


def test_logger_db_has_288_rows_a_day_and_two_bursts(trees: Dict[str, Path]) -> None:
    db = trees["incident"] / "var/logger/logging.db"
    per_day = db_counts(db, "SELECT substr(timestamp, 1, 10), count(*) FROM temperatures GROUP BY 1")
    assert len(per_day) == 15 and {n for _, n in per_day} == {288}
    bursts = db_counts(db, "SELECT timestamp, count(*) FROM temperatures GROUP BY 1 HAVING count(*) > 1")
    assert bursts == [("2020-09-01 05:04", 11), ("2020-09-14 04:39", 11)]
    gap = db_counts(db, "SELECT timestamp, 1 FROM temperatures WHERE timestamp > '2020-09-01 04:05' "
                        "AND timestamp < '2020-09-01 05:04'")
    assert gap == []


def test_twin_db_has_no_burst(trees: Dict[str, Path]) -> None:
    db = trees["twin"] / "var/logger/logging.db"
    assert db_counts(db, "SELECT timestamp, count(*) FROM temperatures GROUP BY 1 HAVING count(*) > 1") == []
    assert db_counts(db, "SELECT 'rows', count(*) FROM temperatures") == [("rows", 15 * 288)]


def test_syslog_burst_cmd_lines_fall_in_the_burst_minute(trees: Dict[str, Path]) -> None:
    text = gzip.decompress((trees["incident"] / "var/log/syslog.2.gz").read_bytes()).decode()
    cmds = [ln for ln in text.splitlines() if ln.startswith("Sep  1 0") and "logtemp.sh" in ln]
    assert sum(ln.startswith("Sep  1 05:04:") for ln in cmds) == 11
    assert not [ln for ln in cmds if "04:06:00" < ln[7:15] < "05:04:00"]


def test_incident_log_partition_budget_is_filled_by_lircd(trees: Dict[str, Path]) -> None:
    logdir = trees["incident"] / "var/log"
    assert sum(p.stat().st_size for p in logdir.rglob("*") if p.is_file()) == 2 * 1024 * 1024
    syslog = (logdir / "syslog").read_bytes()
    assert not syslog.endswith(b"\n")                       # cut mid-line, as when the disk filled up
    assert syslog.count(b"lircd-0.10.1[480]: Error: No /sys/class/rc/ devices found") > 1000


def test_twin_has_no_lirc_and_clean_vpn_restarts(trees: Dict[str, Path]) -> None:
    twin_status = (trees["twin"] / "var/lib/dpkg/status").read_text()
    assert "\nPackage: lirc\n" not in twin_status and "Package: liblirc0\n" not in twin_status
    assert "\nPackage: lirc\n" in (trees["incident"] / "var/lib/dpkg/status").read_text()
    vpn = (trees["twin"] / "usr/local/vpnserver/server_log/vpn_20200908.log").read_bytes().decode()
    assert "\r\n" in vpn and vpn.index("shutdown processing has started") < vpn.index("has been started.")


def test_build_tree_is_deterministic(tmp_path: Path, trees: Dict[str, Path]) -> None:
    build_tree(TWIN, tmp_path / "again")
    for rel in ("var/log/syslog", "var/log/auth.log", "usr/local/vpnserver/server_log/vpn_20200901.log"):
        assert (tmp_path / "again" / rel).read_bytes() == (trees["twin"] / rel).read_bytes()


@pytest.mark.fleet
def test_incident_pi_over_ssh(sim_fleet: SimFleet) -> None:
    out = ssh(sim_fleet, "rasp3bprs1", "hostname; df -P /var/log; ps -e -o comm=,args=")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "rasp3bprs1"
    assert lines[2].split()[4] == "100%"
    procs = [tuple(line.split(None, 1)) for line in lines[3:]]
    assert ("lircd", "/usr/sbin/lircd --nodaemon") in procs
    assert procs.count(("vpnserver", "/usr/local/vpnserver/vpnserver execsvc")) == 2
    assert procs[0][0] == "sshd"                            # PID 1 of the host's own pid namespace


@pytest.mark.fleet
def test_twin_over_ssh(sim_fleet: SimFleet) -> None:
    out = ssh(sim_fleet, "rasp3bprs2", "hostname; ps -e -o comm=; grep -c '^Package: lirc$' /var/lib/dpkg/status")
    assert out.stdout.splitlines()[0] == "rasp3bprs2"
    assert "lircd" not in out.stdout.splitlines() and out.stdout.splitlines()[-1] == "0"


@pytest.mark.fleet
def test_running_incident_tree_is_the_served_one(sim_fleet: SimFleet) -> None:
    db = sim_fleet.hosts["rasp3bprs1"].tree / "var/logger/logging.db"
    assert db_counts(db, "SELECT timestamp, count(*) FROM temperatures GROUP BY 1 HAVING count(*) > 1") == [
        ("2020-09-01 05:04", 11), ("2020-09-14 04:39", 11)]
    out = ssh(sim_fleet, "rasp3bprs1", "sha256sum /var/logger/logging.db")
    local = subprocess.run(["sha256sum", str(db)], capture_output=True, text=True).stdout.split()[0]
    assert out.stdout.split()[0] == local


@pytest.mark.fleet
def test_deadhost_refuses(sim_fleet: SimFleet) -> None:
    host = sim_fleet.hosts["deadhost"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host.address, host.port), timeout=5).close()


@pytest.mark.fleet
def test_badkey_refuses_the_client_key(sim_fleet: SimFleet) -> None:
    out = ssh(sim_fleet, "badkey", "true")
    assert out.returncode == 255 and "Permission denied" in out.stderr


@pytest.mark.fleet
def test_changedkey_fails_host_key_verification(sim_fleet: SimFleet) -> None:
    out = ssh(sim_fleet, "changedkey", "true")
    assert out.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in out.stderr


@pytest.mark.fleet
def test_tarpit_accepts_and_stays_silent(sim_fleet: SimFleet) -> None:
    host = sim_fleet.hosts["tarpit"]
    with socket.create_connection((host.address, host.port), timeout=5) as sock:
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(16)
    argv = sim_fleet.ssh_argv("tarpit", "true", timeout=1)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 255 and "banner exchange" in out.stderr


@pytest.mark.fleet
def test_inventory_and_known_hosts(sim_fleet: SimFleet) -> None:
    inventory = pytest.importorskip("fleetaudit.inventory")
    inv = inventory.load_inventory(str(sim_fleet.inventory_path))
    assert {h.name for h in inv.hosts} == set(sim_fleet.hosts)
    assert set(inv.groups["softether_3bplus"]) == {"rasp3bprs1", "rasp3bprs2"}
    assert set(inv.groups["faults"]) == {"deadhost", "badkey", "changedkey", "tarpit"}
    entries = sim_fleet.known_hosts_path.read_text().splitlines()
    assert f"{sim_fleet.hosts['rasp3bprs1'].address} ssh-ed25519 " in entries[0] + " "


@pytest.mark.fleet
def test_stop_leaves_nothing_running(make_fleet: Callable[..., SimFleet]) -> None:
    spec = [SimHostSpec("solo", "127.0.80.11", "incident"), SimHostSpec("pit", "127.0.80.12", "tarpit")]
    fleet = make_fleet(spec)
    solo = fleet.hosts["solo"]
    assert solo.process is not None and solo.init_pid is not None
    pids = [solo.process.pid, solo.init_pid]
    fleet.stop()
    fleet.stop()
    assert not any(pid_alive(pid) for pid in pids)
    for host in fleet.hosts.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host.address, host.port), timeout=5).close()
    assert not (solo.tree / "var/log").is_mount()
