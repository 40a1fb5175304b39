"""Transport tests against a real private OpenSSH server on 127.0.0.50 and a local directory tree."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from fleetaudit.model import Host, RunSnapshot
from fleetaudit.simfleet import SimFleet
from fleetaudit.transport.base import ConnectOptions, TransportError
from fleetaudit.transport.local import LocalTransport
from fleetaudit.transport.ssh import connect

ADDRESS = "127.0.0.50"
SSHD = "/usr/sbin/sshd"
needs_sshd = pytest.mark.skipif(not (os.path.exists(SSHD) and os.geteuid() == 0), reason="needs root and sshd")


@dataclass
class PrivateSshd:
    """A running sshd and the files a client needs to use it."""

    address: str
    port: int
    known_hosts: Path
    client_key: Path
    workdir: Path
    host_pub: str

    def host(self, name: str = "box", **kw: object) -> Host:
        """Return a Host pointing at this sshd."""
        fields = {"address": self.address, "port": self.port, "user": "root",
                  "identity_file": str(self.client_key), "known_hosts": str(self.known_hosts)}
        fields.update(kw)
        return Host(name=name, **fields)  # type: ignore[arg-type]

    def options(self, **kw: object) -> ConnectOptions:
        """Return hermetic connect options (no ~/.ssh, no agent, trust file in the workdir)."""
        base = ConnectOptions(user_known_hosts=None, allow_agent=False, look_for_keys=False,
                              use_ssh_config=False, trust_file=str(self.workdir / "trust" / "known_hosts"),
                              connect_timeout=5, banner_timeout=5, auth_timeout=5)
        return replace(base, **kw)  # type: ignore[arg-type]


def _free_port(address: str) -> int:
    """Return a TCP port free on ``address``."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> str:
    """Create an ed25519 key pair; return the public line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def start_sshd(workdir: Path, address: str = ADDRESS) -> tuple[PrivateSshd, subprocess.Popen[bytes]]:
    """Start a private sshd (own host key, own authorized keys, no PAM) and wait for it to listen."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    port = _free_port(address)
    host_pub = _keygen(workdir / "hostkey")
    client_pub = _keygen(workdir / "client")
    (workdir / "authorized_keys").write_text(client_pub + "\n")
    (workdir / "sshd_config").write_text(
        f"ListenAddress {address}:{port}\nHostKey {workdir}/hostkey\nPidFile {workdir}/sshd.pid\n"
        f"AuthorizedKeysFile {workdir}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "AllowTcpForwarding yes\nMaxStartups 100\nMaxSessions 50\nLogLevel ERROR\n")
    known = workdir / "known_hosts"
    known.write_text(f"[{address}]:{port} {' '.join(host_pub.split()[:2])}\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(workdir / "sshd_config")], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex((address, port)) == 0:
                break
        time.sleep(0.05)
    return PrivateSshd(address, port, known, workdir / "client", workdir, host_pub), proc


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSshd]:
    """A private sshd for the module."""
    if not (os.path.exists(SSHD) and os.geteuid() == 0):
        pytest.skip("needs root and sshd")
    server, proc = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture()
def tarpit() -> Iterator[int]:
    """A TCP port that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind((ADDRESS, 0))
    listener.listen(8)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


pytestmark = pytest.mark.fleet


def test_connect_runs_commands_on_one_connection(sshd: PrivateSshd) -> None:
    transport = connect(sshd.host(), sshd.options())
    try:
        first = transport.run("echo hello; echo oops >&2; exit 3", 10, 1024)
        second = transport.run("head -c 5000 /dev/zero", 10, 100)
    finally:
        transport.close()
    assert (first.stdout, first.stderr, first.exit_code) == (b"hello\n", b"oops\n", 3)
    assert second.truncated and len(second.stdout) == 100


def test_command_timeout_is_reported(sshd: PrivateSshd) -> None:
    transport = connect(sshd.host(), sshd.options())
    try:
        result = transport.run("sleep 5", 0.5, 100)
    finally:
        transport.close()
    assert result.timed_out and result.exit_code is None


def test_unknown_host_key_is_refused_with_a_hint(sshd: PrivateSshd) -> None:
    with pytest.raises(TransportError) as info:
        connect(sshd.host(known_hosts=None), sshd.options())
    assert info.value.status == "hostkey_unknown"
    assert "--trust-new-hosts" in info.value.reason and "SHA256:" in info.value.reason


def test_trust_new_hosts_records_a_private_file(sshd: PrivateSshd, tmp_path: Path) -> None:
    trust = tmp_path / "cfg" / "fleetaudit" / "known_hosts"
    options = sshd.options(trust_new_hosts=True, trust_file=str(trust))
    connect(sshd.host(known_hosts=None), options).close()
    assert stat.S_IMODE(trust.stat().st_mode) == 0o600
    assert stat.S_IMODE(trust.parent.stat().st_mode) == 0o700
    assert trust.read_text().startswith(f"[{sshd.address}]:{sshd.port} ssh-ed25519 ")
    connect(sshd.host(known_hosts=None), replace(options, trust_new_hosts=False)).close()


def test_changed_host_key_is_refused_even_with_trust(sshd: PrivateSshd, tmp_path: Path) -> None:
    other = _keygen(tmp_path / "other")
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.address}]:{sshd.port} {' '.join(other.split()[:2])}\n")
    with pytest.raises(TransportError) as info:
        connect(sshd.host(known_hosts=str(known)), sshd.options(trust_new_hosts=True))
    assert info.value.status == "hostkey_changed"
    assert info.value.reason.count("SHA256:") == 2


def test_wrong_client_key_is_auth_failed(sshd: PrivateSshd, tmp_path: Path) -> None:
    _keygen(tmp_path / "stranger")
    with pytest.raises(TransportError) as info:
        connect(sshd.host(identity_file=str(tmp_path / "stranger")), sshd.options())
    assert info.value.status == "auth_failed"


def test_refused_port_is_unreachable(sshd: PrivateSshd) -> None:
    with pytest.raises(TransportError) as info:
        connect(sshd.host(port=_free_port(ADDRESS)), sshd.options())
    assert info.value.status == "unreachable"


def test_tarpit_is_a_timeout_cut_at_the_deadline(sshd: PrivateSshd, tarpit: int) -> None:
    with pytest.raises(TransportError) as info:
        connect(sshd.host(port=tarpit), sshd.options(banner_timeout=30), deadline=time.monotonic() + 1.0)
    assert info.value.status == "timeout"


def test_proxy_jump_through_a_gateway(sshd: PrivateSshd) -> None:
    host = sshd.host(jump=f"root@{sshd.address}:{sshd.port}")
    transport = connect(host, sshd.options())
    try:
        assert transport.run("echo via-jump", 10, 100).stdout == b"via-jump\n"
    finally:
        transport.close()


def test_local_transport_runs_in_the_tree(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("sdcard\n")
    result = LocalTransport(str(tmp_path)).run('cat "$FA_ROOT/etc/hostname"', 10, 100)
    assert result.stdout == b"sdcard\n" and result.exit_code == 0


def test_local_transport_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(TransportError) as info:
        LocalTransport(str(tmp_path / "absent"))
    assert info.value.status == "unreachable"


def test_ssh_keygen_present() -> None:
    assert shutil.which("ssh-keygen")


# --- faults mid-run against the simulated fleet: a stopped host, and Ctrl-C on the whole run ---------------

def _first_file(reports: Path, name: str) -> bool:
    """Return True once the host's first log file is stored (every source before the syslog is complete then)."""
    return any(not p.name.endswith(".part") for p in reports.glob(f".*.partial/{name}/files/var/log/*")
               if p.is_file())


@pytest.mark.fleet
def test_host_stopped_mid_transfer_is_a_timeout(tmp_path: Path, make_fleet: Callable[..., SimFleet]) -> None:
    """The host's processes SIGSTOPped after its first file: ``timeout`` at the deadline, finished sources kept."""
    from reliability.faults import grow_log, signal_all, stop_host, wait_for

    from fleetaudit.collect.engine import CollectOptions, collect
    from fleetaudit.inventory import load_inventory
    from fleetaudit.simfleet.spec import fleet_with_n_hosts

    fleet = make_fleet(fleet_with_n_hosts(1, incident_every=0))
    victim = fleet.hosts["pi01"]
    grow_log(victim, "var/log/syslog.1", 24 * 1024 * 1024)
    inventory = load_inventory(str(fleet.inventory_path))
    connect_opts = ConnectOptions(user_known_hosts=None, allow_agent=False, look_for_keys=False,
                                  use_ssh_config=False, trust_file=str(tmp_path / "trust"))
    reports = tmp_path / "reports"
    out: List[RunSnapshot] = []
    worker = threading.Thread(target=lambda: out.append(collect(
        inventory, inventory.hosts, str(reports), CollectOptions(connect=connect_opts, host_deadline=8.0))))
    worker.start()
    stopped: List[int] = []
    try:
        assert wait_for(lambda: _first_file(reports, "pi01"), 30)
        stopped = stop_host(victim)
        worker.join(60)
    finally:
        signal_all(stopped, signal.SIGCONT)
    (snap,) = out[0].hosts
    assert snap.status == "timeout", snap.reason
    assert "host deadline" in snap.reason and "internal error" not in snap.reason
    assert any(s.status == "ok" and s.files for s in snap.sources)          # what arrived is kept
    assert [s for s in snap.sources if s.status == "timeout"]


@pytest.mark.fleet
def test_ctrl_c_closes_everything_and_leaves_no_complete_run(tmp_path: Path, sim_fleet: SimFleet) -> None:
    """SIGINT to ``fleetaudit run`` while a tarpit holds its worker: exit 130 at once, run not complete, lock free."""
    from reliability.faults import wait_for
    from reliability.runner import cli_argv, cli_env

    from fleetaudit.lock import RunLock
    from fleetaudit.snapshot import list_runs

    reports = tmp_path / "reports"
    argv = cli_argv("run", "-i", str(sim_fleet.inventory_path), "--reports", str(reports), "--deadline", "300")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(tmp_path / "home"), cwd=str(tmp_path))
    try:
        assert wait_for(lambda: _first_file(reports, "rasp3bprs2"), 60)     # collecting: past every import
        time.sleep(1.0)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)      # a hang here (waiting for the tarpit) fails the test
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list_runs(str(reports)) == [] and not list(reports.rglob("manifest.json"))
    assert all(p.name.startswith(".") for p in reports.iterdir() if p.is_dir())
    with RunLock(str(reports)):                       # taken at once: nobody holds it any more
        pass


def test_ssh_agent_key_is_used_when_no_identity_file_is_given(sshd: PrivateSshd, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A key held only by a real ssh-agent logs in (no identity_file, no ~/.ssh keys)."""
    started = subprocess.run(["ssh-agent", "-s", "-a", str(tmp_path / "agent.sock")], capture_output=True, text=True,
                             check=True)
    pid = int(started.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": str(tmp_path / "agent.sock")}
        subprocess.run(["ssh-add", str(sshd.client_key)], env=env, capture_output=True, check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
        transport = connect(sshd.host(identity_file=None), sshd.options(allow_agent=True))
        try:
            assert transport.run("echo agent-ok", 10, 1024).stdout.strip() == b"agent-ok"
        finally:
            transport.close()
        with pytest.raises(TransportError) as refused:       # and without the agent the same host refuses
            connect(sshd.host(identity_file=None), sshd.options(allow_agent=False))
        assert refused.value.status == "auth_failed"
    finally:
        os.kill(pid, signal.SIGTERM)
