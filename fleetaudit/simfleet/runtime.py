"""Files a running fleet needs besides the trees: SSH keys, sshd_config, known_hosts and inventory.yaml."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

import yaml

from fleetaudit.simfleet.spec import SimHostSpec

SSHD_CONFIG = """# sshd_config of the simulated host {name} (written by fleetaudit.simfleet)
Port {port}
ListenAddress {address}
HostKey {state}/ssh_host_ed25519_key
PidFile {state}/sshd.pid
AuthorizedKeysFile {state}/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
LogLevel VERBOSE
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
"""


def keygen(path: Path, comment: str) -> str:
    """Create an ed25519 key pair at ``path`` (+ .pub) unless it exists; return the public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return path.with_name(path.name + ".pub").read_text(encoding="ascii").strip()


def key_body(pub_line: str) -> str:
    """Return "ssh-ed25519 AAAA..." without the comment."""
    return " ".join(pub_line.split()[:2])


def known_hosts_entry(address: str, port: int, pub_line: str) -> str:
    """Return one known_hosts line (`addr key` for port 22, `[addr]:port key` otherwise)."""
    target = address if port == 22 else f"[{address}]:{port}"
    return f"{target} {key_body(pub_line)}\n"


def sshd_config(spec: SimHostSpec, state: Path) -> str:
    """Return the host's private sshd_config."""
    return SSHD_CONFIG.format(name=spec.name, port=spec.port, address=spec.address, state=state)


def inventory_host(spec: SimHostSpec, client_key: Path, known_hosts: Path) -> Dict[str, Any]:
    """Return one host's inventory entry."""
    return {
        "address": spec.address,
        "port": spec.port,
        "user": "root",
        "identity_file": str(client_key),
        "sudo": False,
        "groups": list(spec.groups),
        "logger": {"db_path": "/var/logger/logging.db", "table": "temperatures", "timestamp_column": "timestamp",
                   "interval_minutes": 5},
        "softether_dirs": ["/usr/local/vpnserver"],
        "expected_services": list(spec.expected_services),
        "known_hosts": str(known_hosts),
    }


def inventory(specs: Sequence[SimHostSpec], client_key: Path, known_hosts: Path) -> Dict[str, Any]:
    """Return the fleet's inventory as data: defaults, hosts and groups."""
    groups: Dict[str, List[str]] = {}
    for spec in specs:
        for group in spec.groups:
            groups.setdefault(group, []).append(spec.name)
    return {
        "defaults": {"user": "root", "port": 22, "identity_file": str(client_key), "sudo": False,
                     "known_hosts": str(known_hosts)},
        "hosts": {spec.name: inventory_host(spec, client_key, known_hosts) for spec in specs},
        "groups": groups,
    }


def write_yaml(path: Path, data: Mapping[str, Any], header: str) -> None:
    """Write ``data`` as YAML with a comment header, keeping key order."""
    body = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)
    path.write_text(header + body, encoding="utf-8")
