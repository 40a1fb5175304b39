"""The simulated fleet: real sshd per host on 127.x.y.z, each in its own mount/UTS/PID namespace.

Layout under ``workdir``::

  inventory.yaml  known_hosts  client_ed25519(.pub)     what a client needs
  hosts/<name>/                                          the host's file tree (``SimHost.tree``)
  state/init.sh  state/bin/<daemon>  state/<name>/       init script, daemon stand-ins, keys + sshd_config
  logs/<name>.log                                        init + sshd output (``SimHost.log_path``)
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import weakref
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Dict, List, Optional, Sequence, Type

from fleetaudit.simfleet import nsproc, overlay, runtime, trees
from fleetaudit.simfleet.nsproc import SimFleetError
from fleetaudit.simfleet.spec import SimHostSpec, default_fleet, port_free
from fleetaudit.simfleet.tarpit import Tarpit

_RUNNING: weakref.WeakSet[SimFleet] = weakref.WeakSet()
BLOCKER = "/bin/cat"


@dataclass
class SimHost:
    """One simulated host as started: where it listens, its tree, its log and its keys."""

    name: str
    address: str
    port: int
    kind: str
    tree: Path                          # the host's file tree (not created for deadhost/tarpit)
    spec: SimHostSpec
    log_path: Path
    state: Path
    host_key: str = ""                  # public host key the sshd serves ("" without sshd)
    known_key: str = ""                 # public host key written to known_hosts (differs for changedkey)
    process: Optional[subprocess.Popen[bytes]] = field(default=None, repr=False)
    init_pid: Optional[int] = None      # the namespace's PID 1, as seen from the machine


def _stop_all() -> None:
    """Stop every fleet still running at interpreter exit."""
    for fleet in list(_RUNNING):
        fleet.stop()


atexit.register(_stop_all)


class SimFleet:
    """A started set of simulated Pis; use as a context manager or call start()/stop()."""

    def __init__(self, workdir: Path, spec: Optional[Sequence[SimHostSpec]] = None,
                 ready_timeout: float = 20.0) -> None:
        self.workdir = Path(workdir).resolve()
        self.specs: List[SimHostSpec] = list(spec) if spec is not None else default_fleet()
        _check_unique(self.specs)
        self.ready_timeout = ready_timeout
        self.inventory_path = self.workdir / "inventory.yaml"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.client_key_path = self.workdir / "client_ed25519"
        self.state_dir = self.workdir / "state"
        self.hosts: Dict[str, SimHost] = {s.name: self._host(s) for s in self.specs}
        self._mounts: List[Path] = []
        self._tarpits: List[Tarpit] = []
        self._prepared = False
        self.started = False

    def _host(self, spec: SimHostSpec) -> SimHost:
        """Return the SimHost record for one spec."""
        return SimHost(spec.name, spec.address, spec.port, spec.kind, self.workdir / "hosts" / spec.name, spec,
                       self.workdir / "logs" / f"{spec.name}.log", self.state_dir / spec.name)

    def __enter__(self) -> SimFleet:
        self.start()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.stop()

    def prepare(self) -> None:
        """Write trees, keys, sshd configs, known_hosts and inventory.yaml without starting anything."""
        _RUNNING.add(self)                  # the incident's tmpfs is mounted now: unmount it at exit
        for sub in ("hosts", "logs", "state/bin"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        client_pub = runtime.keygen(self.client_key_path, "fleetaudit-simfleet-client")
        known: List[str] = []
        for host in self.hosts.values():
            if host.spec.has_sshd:
                self._prepare_host(host, client_pub)
                known.append(runtime.known_hosts_entry(host.address, host.port, host.known_key))
        self.known_hosts_path.write_text("".join(known), encoding="ascii")
        data = runtime.inventory(self.specs, self.client_key_path, self.known_hosts_path)
        runtime.write_yaml(self.inventory_path, data, "# Simulated fleet inventory (fleetaudit.simfleet).\n")
        self._prepare_shared()
        self._prepared = True

    def _prepare_host(self, host: SimHost, client_pub: str) -> None:
        """Build one host's tree (its /var/log on a tmpfs when the spec says so), keys and sshd_config."""
        self._reset_tree(host.tree)
        if host.spec.log_partition_bytes:
            nsproc.mount_tmpfs(host.tree / "var/log", host.spec.log_partition_bytes, f"simfleet-varlog-{host.name}")
            self._mounts.append(host.tree / "var/log")
        trees.build_tree(host.spec, host.tree)
        host.state.mkdir(parents=True, exist_ok=True)
        host.host_key = runtime.keygen(host.state / "ssh_host_ed25519_key", host.name)
        host.known_key = host.host_key
        if host.kind == "changedkey":
            host.known_key = runtime.keygen(host.state / "announced_host_key", f"{host.name}-old")
        authorized = client_pub
        if host.kind == "badkey":
            authorized = runtime.keygen(host.state / "other_client_key", "someone-else")
        (host.state / "authorized_keys").write_text(authorized + "\n", encoding="ascii")
        (host.state / "sshd_config").write_text(runtime.sshd_config(host.spec, host.state), encoding="utf-8")
        hidden = overlay.hidden_paths(host.spec.profile == "incident")
        (host.state / "hide.list").write_text("".join(p + "\n" for p in hidden), encoding="utf-8")

    def _reset_tree(self, tree: Path) -> None:
        """Remove a tree left by an earlier run, unmounting anything still mounted in it."""
        if tree.exists():
            for point in nsproc.mounts_under(tree):
                nsproc.unmount(point)
            shutil.rmtree(tree)

    def _prepare_shared(self) -> None:
        """Install the init script, the daemon stand-ins and their FIFO under state/."""
        text = resources.files("fleetaudit.simfleet").joinpath("init.sh").read_text(encoding="utf-8")
        (self.state_dir / "init.sh").write_text(text, encoding="utf-8")
        bindir = self.state_dir / "bin"
        for spec in self.specs:
            for comm, _ in spec.daemons:
                if not (bindir / comm).exists():
                    shutil.copy2(BLOCKER, bindir / comm)
        fifo = bindir / "block.fifo"
        if not fifo.exists():
            os.mkfifo(fifo)

    def start(self) -> None:
        """Prepare everything, start each host, and wait until every sshd answers; stop all on failure."""
        if self.started:
            return
        self.started = True
        _RUNNING.add(self)
        try:
            self._check_addresses_free()
            if not self._prepared:
                self.prepare()
            self._start_tarpits()
            self._start_sshd_hosts()
        except BaseException:
            self.stop()
            raise

    def _check_addresses_free(self) -> None:
        """Raise SimFleetError when something already listens where a host should be (another fleet?)."""
        busy = [f"{h.name} ({h.address}:{h.port})" for h in self.hosts.values() if not port_free(h.address, h.port)]
        if busy:
            raise SimFleetError(f"address already in use for {', '.join(busy)}; another fleet or sshd is running "
                                "there (use spec.free_net()/with_net() to move this fleet)")

    def _start_tarpits(self) -> None:
        """Start a silent listener for every tarpit host."""
        for host in self.hosts.values():
            if host.kind == "tarpit":
                tarpit = Tarpit(host.address, host.port)
                tarpit.start()
                self._tarpits.append(tarpit)

    def _start_sshd_hosts(self) -> None:
        """Start one namespace per sshd host and wait for their banners."""
        hosts = [h for h in self.hosts.values() if h.spec.has_sshd]
        for host in hosts:
            with host.log_path.open("ab") as log:
                host.process = nsproc.spawn_namespace(self.state_dir / "init.sh", self._env(host), log)
        procs = {h.name: h.process for h in hosts if h.process is not None}
        nsproc.wait_ready(procs, {h.name: (h.address, h.port) for h in hosts},
                          {h.name: h.log_path for h in hosts}, self.ready_timeout)
        for host in hosts:
            pids = nsproc.child_pids(host.process.pid) if host.process else []
            host.init_pid = pids[0] if pids else None

    def host_env(self, host: SimHost) -> Dict[str, str]:
        """Return the init script's environment for one host (to restart it: nsproc.spawn_namespace)."""
        return self._env(host)

    def _env(self, host: SimHost) -> Dict[str, str]:
        """Return the init script's environment for one host."""
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "SIM_HOSTNAME": host.name,
            "SIM_TREE": str(host.tree),
            "SIM_STATE": str(host.state),
            "SIM_SHARED": str(self.state_dir),
            "SIM_BINDS": " ".join(trees.BIND_PATHS),
            "SIM_DAEMONS": "\n".join(f"{comm}={cmdline}" for comm, cmdline in host.spec.daemons),
            "SIM_SSHD_CONFIG": str(host.state / "sshd_config"),
            "SIM_HIDE": str(host.state / "hide.list"),
        }

    def stop(self) -> None:
        """Kill the namespaces this fleet started, stop its tarpits and unmount its tmpfs mounts (idempotent)."""
        for host in self.hosts.values():
            if host.process is not None:
                nsproc.kill_namespace(host.process, host.init_pid)
                host.process = None
        for tarpit in self._tarpits:
            tarpit.stop()
        self._tarpits = []
        for point in reversed(self._mounts):
            nsproc.unmount(point)
        self._mounts = []
        self._prepared = False
        self.started = False
        _RUNNING.discard(self)

    def ssh_argv(self, name: str, command: str = "", timeout: float = 10.0) -> List[str]:
        """Return an OpenSSH client command line that logs into host ``name`` with the fleet's key and known_hosts."""
        host = self.hosts[name]
        argv = ["ssh", "-F", "/dev/null", "-i", str(self.client_key_path), "-p", str(host.port),
                "-o", f"UserKnownHostsFile={self.known_hosts_path}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(timeout)}", "-o", "IdentitiesOnly=yes",
                "-o", "LogLevel=ERROR", f"root@{host.address}"]
        return argv + ([command] if command else [])


def _check_unique(specs: Sequence[SimHostSpec]) -> None:
    """Raise SimFleetError when two hosts share a name or an address:port."""
    names = [s.name for s in specs]
    endpoints = [(s.address, s.port) for s in specs]
    if len(set(names)) != len(names) or len(set(endpoints)) != len(endpoints):
        raise SimFleetError("simulated hosts need distinct names and address:port pairs")
