"""Collect engine tests: local directory hosts, a private sshd, and (when it runs) the simulated fleet."""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest
from test_transport import SSHD, PrivateSshd, start_sshd

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.collect.script import build_script
from fleetaudit.collect.sources import sources_for
from fleetaudit.model import Host, HostSnapshot, Inventory, LoggerSpec
from fleetaudit.simfleet import SimFleet
from fleetaudit.snapshot import SnapshotError, list_runs, read_run
from fleetaudit.transport.base import ConnectOptions

SYSLOG_CAP = 64 * 1024


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path) -> Dict[str, str]:
    """Return sha256 of every regular file below ``root``."""
    return {str(p.relative_to(root)): _sha(p) for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def make_tree(root: Path) -> Path:
    """Build a small Pi root file system: logs (one over its cap), dpkg, crontabs, SoftEther, the logger DB."""
    files = {
        "etc/hostname": "pi-sd\n", "etc/os-release": 'PRETTY_NAME="Raspbian GNU/Linux 10 (buster)"\n',
        "var/log/syslog.1": "Sep  1 03:59:00 pi CRON[1]: (pi) CMD (logtemp)\n",
        "var/log/auth.log": "Sep  1 04:00:00 pi sshd[9]: Accepted publickey for pi\n",
        "var/lib/dpkg/status": "Package: lirc\nStatus: install ok installed\n\n",
        "etc/crontab": "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n",
        "etc/cron.d/logtemp": "0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * * pi /usr/local/bin/logtemp.sh\n",
        "usr/local/vpnserver/server_log/vpn_20200901.log": "2020-09-01 05:04:10.000 SoftEther VPN Server started.\n",
        "usr/local/vpnserver/security_log/DEFAULT/sec_20200901.log": "2020-09-01 05:04:11.000 hub up\n",
        "lib/systemd/system/apt-daily.timer": "[Timer]\nOnCalendar=*-*-* 6,18:00\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    lines = "".join(f"Sep  1 04:{i % 60:02d}:00 pi lircd[42]: repeat {i}\n" for i in range(4000))
    (root / "var/log/syslog").write_text(lines)
    (root / "var/log/syslog.2.gz").write_bytes(gzip.compress(b"Aug 31 00:00:00 pi kernel: boot\n"))
    (root / "var/logger").mkdir(parents=True)
    con = sqlite3.connect(root / "var/logger/logging.db")
    con.execute("CREATE TABLE temperatures (timestamp TEXT, temperature REAL)")
    con.executemany("INSERT INTO temperatures VALUES (?, ?)", [(f"2020-09-01 05:{m:02d}", 60.0) for m in range(60)])
    con.commit()
    con.close()
    return root


def local_host(root: Path, name: str = "sdcard", **kw: object) -> Host:
    return Host(name=name, path=str(root), log_cap_bytes=SYSLOG_CAP, **kw)  # type: ignore[arg-type]


def run_local(tmp_path: Path, hosts: List[Host], **kw: object) -> List[HostSnapshot]:
    inventory = Inventory(str(tmp_path / "inventory.yaml"), tuple(hosts), {})
    run = collect(inventory, hosts, str(tmp_path / "reports"), CollectOptions(**kw))  # type: ignore[arg-type]
    return list(read_run(run.directory).hosts)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "root")


def test_every_file_arrives_intact_from_a_directory_host(tmp_path: Path, tree: Path) -> None:
    (snap,) = run_local(tmp_path, [local_host(tree)])
    assert snap.status == "ok", snap.reason
    for source in snap.sources:
        for rel in source.files:
            if rel.startswith("files/") and not source.truncated:
                assert _sha(Path(snap.directory) / rel) == _sha(tree / rel[len("files/"):]), rel
    crontabs = snap.source("crontabs")
    assert crontabs is not None and set(crontabs.files) == {"files/etc/crontab", "files/etc/cron.d/logtemp"}
    softether = snap.source("softether")
    assert softether is not None and len(softether.files) == 2


def test_over_cap_log_is_pulled_newest_first(tmp_path: Path, tree: Path) -> None:
    (snap,) = run_local(tmp_path, [local_host(tree)])
    syslog = snap.source("syslog")
    assert syslog is not None and syslog.status == "truncated" and syslog.truncated
    stored = (Path(snap.directory) / "files/var/log/syslog").read_bytes()
    assert stored == (tree / "var/log/syslog").read_bytes()[-SYSLOG_CAP:]
    rotated = Path(snap.directory) / "files/var/log/syslog.2.gz"
    assert rotated.read_bytes() == (tree / "var/log/syslog.2.gz").read_bytes()


def test_commands_a_directory_cannot_answer_are_missing(tmp_path: Path, tree: Path) -> None:
    (snap,) = run_local(tmp_path, [local_host(tree)])
    for name in ("processes", "kernel", "systemctl_units"):
        result = snap.source(name)
        assert result is not None and result.status == "missing"
        assert result.reason == "not available for a local (directory) host"
    hostname = snap.source("hostname")
    assert hostname is not None and hostname.status == "ok"
    assert (Path(snap.directory) / "cmd/hostname.txt").read_text() == "pi-sd\n"
    for name in ("df", "df_inodes"):                 # the real df of the partitions holding the tree
        result = snap.source(name)
        assert result is not None and result.status == "ok", result
        rows = (Path(snap.directory) / f"cmd/{name}.txt").read_text().splitlines()
        assert len(rows) == 3 and rows[1].split()[-1] in ("/", "/var/log") and rows[2].split()[-1] == "/"


def test_the_audit_writes_nothing_in_the_tree(tmp_path: Path, tree: Path) -> None:
    before = tree_hashes(tree)
    names = sorted(str(p) for p in tree.rglob("*"))
    run_local(tmp_path, [local_host(tree)])
    assert tree_hashes(tree) == before and sorted(str(p) for p in tree.rglob("*")) == names


def test_logger_db_copy_is_a_valid_database(tmp_path: Path, tree: Path) -> None:
    (snap,) = run_local(tmp_path, [local_host(tree)])
    db = snap.source("logger_db")
    assert db is not None and db.status == "ok" and db.files == ("logger/logger.db",)
    con = sqlite3.connect(Path(snap.directory) / "logger/logger.db")
    assert con.execute("SELECT count(*) FROM temperatures").fetchone() == (60,)


@pytest.mark.parametrize("content", [b"this is not a database at all\n" * 10,
                                     b"SQLite format 3\x00" + b"\xff" * 5000])
def test_bad_logger_db_is_a_source_error(tmp_path: Path, tree: Path, content: bytes) -> None:
    (tree / "var/logger/logging.db").write_bytes(content)
    (snap,) = run_local(tmp_path, [local_host(tree)])
    db = snap.source("logger_db")
    assert db is not None and db.status == "error" and db.reason
    assert snap.status == "partial"


WRITER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
con.execute("PRAGMA journal_mode=" + sys.argv[2])
n = 0
while True:
    con.execute("BEGIN IMMEDIATE")
    for _ in range(50):
        con.execute("INSERT INTO temperatures VALUES ('2020-09-14 04:39', ?)", (n,))
        n += 1
    con.execute("COMMIT")
    print(n, flush=True)
"""


@pytest.fixture(params=["delete", "wal"])
def busy_db(request: pytest.FixtureRequest, tree: Path) -> Iterator[Path]:
    """The tree's logger DB with a process inserting rows into it continuously."""
    db = tree / "var/logger/logging.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), request.param], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    yield db
    proc.kill()
    proc.wait()


def test_db_copy_is_consistent_while_a_writer_inserts(tmp_path: Path, tree: Path, busy_db: Path) -> None:
    counts = []
    for round_ in range(3):
        (snap,) = run_local(tmp_path / str(round_), [local_host(tree)])
        db = snap.source("logger_db")
        assert db is not None and db.status == "ok", db
        con = sqlite3.connect(Path(snap.directory) / "logger/logger.db")
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts.append(con.execute("SELECT count(*) FROM temperatures").fetchone()[0])
        con.close()
    assert all(c >= 60 and (c - 60) % 50 == 0 for c in counts)


def test_many_directory_hosts_with_one_broken(tmp_path: Path) -> None:
    hosts = [local_host(make_tree(tmp_path / f"t{i}"), name=f"pi{i:02d}") for i in range(20)]
    hosts.append(Host(name="gone", path=str(tmp_path / "nowhere")))
    snaps = run_local(tmp_path, hosts, jobs=8)
    statuses = {s.host: s.status for s in snaps}
    assert statuses.pop("gone") == "unreachable"
    assert set(statuses.values()) == {"ok"} and len(statuses) == 20


def test_script_uses_sudo_n_only_for_root_only_sources() -> None:
    host = Host(name="pi", address="10.0.0.1", sudo=True, logger=LoggerSpec(db_path="/var/logger/it's.db"))
    script = build_script(host, sources_for(host))
    assert "sudo -n true" in script and "sudo -n sh -c" in script and "sudo -S" not in script
    for line in script.splitlines():
        if line.startswith("if [ -n \"$FA_SUDO\" ]; then sudo -n"):
            assert any(f"fa_files {name} " in line for name in ("auth", "crontabs", "softether"))
    assert "'/var/logger/it'\"'\"'s.db'" in script
    plain = build_script(Host(name="pi"), sources_for(Host(name="pi")))
    assert "sudo -n true" not in plain and 'then sudo -n sh' not in plain


CRASH = """
import sys
from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.model import Host, Inventory
from fleetaudit.transport.base import ConnectOptions
hosts = [Host(name="a", path=sys.argv[1]), Host(name="stuck", address="127.0.0.1", port=int(sys.argv[2]))]
options = CollectOptions(jobs=2, connect=ConnectOptions(banner_timeout=120, user_known_hosts=None,
                         use_ssh_config=False, allow_agent=False, look_for_keys=False))
collect(Inventory("inv.yaml", tuple(hosts), {}), hosts, sys.argv[3], options)
"""


def test_a_killed_run_leaves_nothing_that_looks_complete(tmp_path: Path, tree: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)                      # the kernel accepts; nobody ever speaks: the run hangs on this host
    reports = tmp_path / "reports"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    argv = [sys.executable, "-c", CRASH, str(tree), str(silent.getsockname()[1]), str(reports)]
    proc = subprocess.Popen(argv, env=env)
    try:
        for _ in range(400):
            if (reports.exists() and any(reports.iterdir())
                    and list(reports.glob(".*.partial/a/logger/logger.db"))):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        silent.close()
    entries = list(reports.iterdir())
    assert entries and all(e.name.startswith(".") and e.name.endswith(".partial") for e in entries)
    assert list_runs(str(reports)) == [] and not list(reports.rglob("manifest.json"))
    with pytest.raises(SnapshotError):
        read_run(str(entries[0]))


# --- over SSH: a private sshd serving this machine (root login, own host key) -------------------------------

@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSshd]:
    """A private sshd for this module."""
    if not (os.path.exists(SSHD) and os.geteuid() == 0):
        pytest.skip("needs root and sshd")
    server, proc = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    proc.terminate()
    proc.wait(10)


def _ssh_run(tmp_path: Path, sshd: PrivateSshd, hosts: List[Host], **kw: object) -> Dict[str, HostSnapshot]:
    inventory = Inventory(str(tmp_path / "inventory.yaml"), tuple(hosts), {})
    options = CollectOptions(connect=sshd.options(), **kw)  # type: ignore[arg-type]
    run = collect(inventory, hosts, str(tmp_path / "reports"), options)
    return {h.host: h for h in read_run(run.directory).hosts}


@pytest.mark.fleet
def test_ssh_sources_arrive_intact(tmp_path: Path, sshd: PrivateSshd, tree: Path) -> None:
    host = sshd.host("box", logger=LoggerSpec(db_path=str(tree / "var/logger/logging.db")))
    snap = _ssh_run(tmp_path, sshd, [host])["box"]
    assert snap.status in ("ok", "partial"), snap.reason
    for rel in ("etc/os-release", "var/lib/dpkg/status", "etc/crontab"):
        if Path("/" + rel).exists():
            assert _sha(Path(snap.directory) / "files" / rel) == _sha(Path("/" + rel)), rel
    db = snap.source("logger_db")
    assert db is not None and db.status == "ok" and db.bytes_moved >= db.bytes > 0
    assert (Path(snap.directory) / "cmd/hostname.txt").read_text().strip() == os.uname().nodename


@pytest.mark.fleet
def test_ssh_db_copy_consistent_while_a_writer_inserts(tmp_path: Path, sshd: PrivateSshd, busy_db: Path) -> None:
    host = sshd.host("box", logger=LoggerSpec(db_path=str(busy_db)))
    snap = _ssh_run(tmp_path, sshd, [host])["box"]
    con = sqlite3.connect(Path(snap.directory) / "logger/logger.db")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT count(*) FROM temperatures").fetchone()[0] >= 60


@pytest.mark.fleet
def test_failures_are_statuses_and_the_others_finish(tmp_path: Path, sshd: PrivateSshd) -> None:
    silent = socket.socket()
    silent.bind((sshd.address, 0))
    silent.listen(4)
    free = socket.socket()
    free.bind((sshd.address, 0))
    refused_port = free.getsockname()[1]
    free.close()
    hosts = [sshd.host("good"), sshd.host("refused", port=refused_port),
             sshd.host("tarpit", port=silent.getsockname()[1]), sshd.host("stranger", known_hosts=None)]
    try:
        snaps = _ssh_run(tmp_path, sshd, hosts, host_deadline=3.0, jobs=4)
    finally:
        silent.close()
    assert {name: s.status for name, s in snaps.items()} == {
        "good": "ok", "refused": "unreachable", "tarpit": "timeout", "stranger": "hostkey_unknown"}
    assert all(s.reason for name, s in snaps.items() if name != "good")


# --- the simulated fleet (fleetaudit.simfleet, fixture sim_fleet in conftest.py) ---------------------------

def _fleet_options(fleet: object, tmp_path: Path, **kw: object) -> CollectOptions:
    connect = ConnectOptions(user_known_hosts=None, allow_agent=False, look_for_keys=False, use_ssh_config=False,
                             trust_file=str(tmp_path / "trust" / "known_hosts"))
    return CollectOptions(connect=connect, **kw)  # type: ignore[arg-type]


@pytest.mark.fleet
def test_sim_fleet_statuses_and_intact_sources(tmp_path: Path, sim_fleet: SimFleet) -> None:
    from fleetaudit.inventory import load_inventory

    inventory = load_inventory(str(sim_fleet.inventory_path))
    trees = {name: h.tree for name, h in sim_fleet.hosts.items() if h.spec.has_tree}
    before = {name: tree_hashes(t) for name, t in trees.items()}
    run = collect(inventory, inventory.hosts, str(tmp_path / "reports"), _fleet_options(sim_fleet, tmp_path,
                                                                                       host_deadline=20.0))
    snaps = {h.host: h for h in read_run(run.directory).hosts}
    expected = {"deadhost": "unreachable", "badkey": "auth_failed", "changedkey": "hostkey_changed",
                "tarpit": "timeout"}
    for name, status in expected.items():
        assert snaps[name].status == status, snaps[name].reason
    for name in ("rasp3bprs1", "rasp3bprs2"):
        snap = snaps[name]
        assert snap.status in ("ok", "partial"), snap.reason
        for source in snap.sources:
            for rel in source.files:
                local = trees[name] / rel[len("files/"):]
                if rel.startswith("files/") and not source.truncated and local.is_file():
                    assert _sha(Path(snap.directory) / rel) == _sha(local), rel
    assert {name: tree_hashes(t) for name, t in trees.items()} == before


@pytest.mark.fleet
def test_sim_fleet_unknown_host_needs_trust(tmp_path: Path, sim_fleet: SimFleet) -> None:
    from fleetaudit.inventory import load_inventory

    inventory = load_inventory(str(sim_fleet.inventory_path))
    twin = [h for h in inventory.hosts if h.name == "rasp3bprs2"]
    bare = Inventory(inventory.path, tuple(replace(h, known_hosts=None) for h in twin), {})
    run = collect(bare, bare.hosts, str(tmp_path / "r1"), _fleet_options(sim_fleet, tmp_path))
    assert run.hosts[0].status == "hostkey_unknown" and "--trust-new-hosts" in run.hosts[0].reason
    options = _fleet_options(sim_fleet, tmp_path)
    trusting = replace(options, connect=replace(options.connect, trust_new_hosts=True))
    run = collect(bare, bare.hosts, str(tmp_path / "r2"), trusting)
    assert run.hosts[0].status in ("ok", "partial")
    assert (tmp_path / "trust" / "known_hosts").stat().st_mode & 0o777 == 0o600


@pytest.mark.fleet
def test_sim_fleet_of_20_hosts_with_8_jobs(tmp_path: Path, make_fleet: Callable[..., SimFleet]) -> None:
    from fleetaudit.inventory import load_inventory
    from fleetaudit.simfleet.spec import fleet_with_n_hosts

    fleet = make_fleet(fleet_with_n_hosts(20))
    inventory = load_inventory(str(fleet.inventory_path))
    run = collect(inventory, inventory.hosts, str(tmp_path / "reports"), _fleet_options(fleet, tmp_path, jobs=8))
    assert len(run.hosts) == 20
    assert all(h.status == "ok" for h in run.hosts), [(h.host, h.reason) for h in run.hosts if h.status != "ok"]


# --- symlinks are never followed by the host, and the Pi model comes from either device-tree path --------

def test_directory_host_symlinked_hub_and_model_alternatives(tmp_path: Path, tree: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.log").write_text("not part of the tree\n")
    (tree / "usr/local/vpnserver/security_log/EVIL").symlink_to(outside)
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(f"Raspberry Pi 3 Model B Plus Rev 1.3 ({rel})\x00")
    (snap,) = run_local(tmp_path, [local_host(tree)])
    softether = snap.source("softether")
    assert softether is not None and softether.status == "ok" and len(softether.files) == 2
    assert f"skipped symlink /usr/local/vpnserver/security_log/EVIL -> {outside}" in softether.reason
    model = snap.source("model")
    assert model is not None and model.files == ("files/proc/device-tree/model",)   # the first path wins
    assert snap.status == "ok", snap.reason


@pytest.mark.fleet
def test_sim_fleet_symlinks_are_reported_not_read(tmp_path: Path, sim_fleet: SimFleet) -> None:
    from fleetaudit.inventory import load_inventory
    from fleetaudit.parse import build_facts

    host_tree = sim_fleet.hosts["rasp3bprs2"].tree
    links = [(host_tree / "var/log/syslog.9", "/etc/shadow"),
             (host_tree / "usr/local/vpnserver/security_log/EVIL", "/var/log")]
    for link, target in links:
        link.symlink_to(target)
    try:
        inventory = load_inventory(str(sim_fleet.inventory_path))
        twin = [h for h in inventory.hosts if h.name == "rasp3bprs2"]
        run = collect(inventory, twin, str(tmp_path / "reports"), _fleet_options(sim_fleet, tmp_path))
    finally:
        for link, _target in links:
            link.unlink()
    snap = read_run(run.directory).hosts[0]
    assert snap.status == "ok", snap.reason                   # a skipped symlink is a note, not a failure
    syslog, softether = snap.source("syslog"), snap.source("softether")
    assert syslog is not None and syslog.status in ("ok", "truncated")
    assert "skipped symlink /var/log/syslog.9 -> /etc/shadow" in syslog.reason
    assert "files/var/log/syslog.9" not in syslog.files
    assert softether is not None and softether.status == "ok" and softether.files
    assert "skipped symlink /usr/local/vpnserver/security_log/EVIL -> /var/log" in softether.reason
    assert not [f for f in softether.files if "/EVIL/" in f]
    assert not list(Path(snap.directory).rglob("EVIL")) and not list(Path(snap.directory).rglob("syslog.9"))
    model = snap.source("model")                             # no /proc/device-tree in the simulated hosts
    assert model is not None and model.files == ("files/sys/firmware/devicetree/base/model",)
    assert "Raspberry Pi" in build_facts(snap, twin[0]).system.model
