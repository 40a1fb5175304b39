"""What a simulated fleet is made of: one ``SimHostSpec`` per host, and the ready-made fleets.

Kinds:
  incident    the overheating 3B+ with lirc and a full /var/log (a small tmpfs when the fleet runs)
  healthy     its twin: same SoftEther setup and crontab, no lirc, no bursts, clean VPN restarts
  badkey      a healthy Pi whose authorized_keys holds a different key (auth_failed)
  changedkey  a healthy Pi whose host key differs from the one in known_hosts (hostkey_changed)
  deadhost    an address where nothing listens (connection refused: unreachable)
  tarpit      accepts TCP and never sends a byte (timeout)
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

KINDS = ("incident", "healthy", "badkey", "changedkey", "deadhost", "tarpit")
SSHD_KINDS = ("incident", "healthy", "badkey", "changedkey")
DEFAULT_NET = "127.0.80"
GROUP = "softether_3bplus"
MODEL_3BPLUS = "Raspberry Pi 3 Model B Plus Rev 1.3"
INCIDENT_LOG_BYTES = 2 * 1024 * 1024
HEALTHY_SERVICES = ("softether-vpnserver.service", "cron.service", "ssh.service")


@dataclass(frozen=True)
class SimHostSpec:
    """One simulated host: its name, where it listens, how it behaves and what its tree holds."""

    name: str
    address: str
    kind: str = "healthy"                       # one of KINDS
    port: int = 22
    groups: Tuple[str, ...] = (GROUP,)
    seed: int = 0                               # varies timer/session randomness between hosts
    log_partition_bytes: Optional[int] = None   # /var/log as a tmpfs of this size, filled to ENOSPC; incident
    #                                             default 2 MiB, 0 = a plain directory
    model: str = MODEL_3BPLUS
    expected_services: Tuple[str, ...] = HEALTHY_SERVICES

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown simulated host kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.kind == "incident" and self.log_partition_bytes is None:
            object.__setattr__(self, "log_partition_bytes", INCIDENT_LOG_BYTES)

    @property
    def has_sshd(self) -> bool:
        """Return True when the host runs a real sshd (every kind but deadhost and tarpit)."""
        return self.kind in SSHD_KINDS

    @property
    def has_tree(self) -> bool:
        """Return True when the host has a file tree."""
        return self.has_sshd

    @property
    def profile(self) -> str:
        """Return which tree the host gets: "incident" or "healthy"."""
        return "incident" if self.kind == "incident" else "healthy"

    @property
    def daemons(self) -> Tuple[Tuple[str, str], ...]:
        """Return (comm, command line) of the long-running processes `ps` shows on this host."""
        base = (("cron", "/usr/sbin/cron -f"), ("rsyslogd", "/usr/sbin/rsyslogd -n -iNONE"),
                ("vpnserver", "/usr/local/vpnserver/vpnserver execsvc"),
                ("vpnserver", "/usr/local/vpnserver/vpnserver execsvc"))
        if self.profile == "incident":
            return base + (("lircd", "/usr/sbin/lircd --nodaemon"),
                           ("irexec", "/usr/bin/irexec /etc/lirc/irexec.lircrc"))
        return base


def host_address(net: str, index: int) -> str:
    """Return the ``index``-th simulated address in ``net`` ("127.0.80" -> 127.0.80.11, .12, ...)."""
    if not 0 <= index < 240:
        raise ValueError(f"host index {index} out of range 0..239")
    return f"{net}.{11 + index}"


def default_fleet(net: str = DEFAULT_NET, port: int = 22) -> List[SimHostSpec]:
    """Return the incident Pi, its twin and the four fault hosts, at net.11 .. net.16."""
    kinds = (("rasp3bprs1", "incident"), ("rasp3bprs2", "healthy"), ("deadhost", "deadhost"),
             ("badkey", "badkey"), ("changedkey", "changedkey"), ("tarpit", "tarpit"))
    specs = [SimHostSpec(name, host_address(net, i), kind, port=port, seed=i) for i, (name, kind) in enumerate(kinds)]
    return [_kind_defaults(s) for s in specs]


def _kind_defaults(spec: SimHostSpec) -> SimHostSpec:
    """Return the spec with what its kind implies (fault hosts go to the "faults" group)."""
    if spec.kind in ("deadhost", "tarpit", "badkey", "changedkey"):
        return replace(spec, groups=("faults",))
    return spec


def fleet_with_n_hosts(n: int, net: str = DEFAULT_NET, port: int = 22, incident_every: int = 4) -> List[SimHostSpec]:
    """Return ``n`` reachable Pis named pi01..piNN: every ``incident_every``-th an incident Pi, the rest healthy."""
    specs = []
    for i in range(n):
        kind = "incident" if incident_every and i % incident_every == 0 else "healthy"
        specs.append(_kind_defaults(SimHostSpec(f"pi{i + 1:02d}", host_address(net, i), kind, port=port, seed=i)))
    return specs


def port_free(address: str, port: int) -> bool:
    """Return True when nothing is bound to ``address:port`` (and it can be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                return False
            raise
    return True


def free_net(port: int = 22, hosts: int = 16, start: Optional[int] = None) -> str:
    """Return a 127.X.Y prefix whose first ``hosts`` simulated addresses are free on ``port``.

    The search starts from a value derived from this process id, so parallel test runs pick different nets.
    """
    first = (os.getpid() % 200) if start is None else start
    for step in range(200):
        net = f"127.{81 + (first + step) % 170}.{(first + step) % 250}"
        if all(port_free(host_address(net, i), port) for i in range(hosts)):
            return net
    raise RuntimeError(f"no free 127.x.y net found for port {port}")


def with_net(specs: Sequence[SimHostSpec], net: str) -> List[SimHostSpec]:
    """Return the specs moved to another 127.x.y net, keeping their order and last octets."""
    return [replace(s, address=f"{net}.{s.address.rsplit('.', 1)[1]}") for s in specs]
