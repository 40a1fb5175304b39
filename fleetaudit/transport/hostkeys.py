"""Host-key verification: known_hosts files, a refusing policy, and trust on first use.

Paramiko itself raises ``BadHostKeyException`` when a known host shows a different key; this module supplies
the policy for keys that are not known at all (refuse, or record in fleetaudit's own trust file).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from typing import Iterable

import paramiko

_TRUST_LOCK = threading.Lock()


def fingerprint(key: paramiko.PKey) -> str:
    """Return the OpenSSH-style SHA256 fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def known_name(address: str, port: int) -> str:
    """Return the known_hosts name for an address: ``host`` on port 22, else ``[host]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


class UnknownHostKey(paramiko.SSHException):
    """The server's host key is in no known_hosts file and trust on first use is off."""

    def __init__(self, hostname: str, key: paramiko.PKey, trust_file: str) -> None:
        self.hostname = hostname
        self.key = key
        self.reason = (f"host key of {hostname} is not known ({key.get_name()} {fingerprint(key)}); "
                       f"check it, then re-run with --trust-new-hosts to record it in {trust_file}")
        super().__init__(self.reason)


class VerifyingPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown host keys, or record them in the trust file when trust on first use is on."""

    def __init__(self, trust_new_hosts: bool, trust_file: str) -> None:
        self.trust_new_hosts = trust_new_hosts
        self.trust_file = os.path.expanduser(trust_file)

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        """Record the key (TOFU) or raise UnknownHostKey."""
        if not self.trust_new_hosts:
            raise UnknownHostKey(hostname, key, self.trust_file)
        record_key(self.trust_file, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def _private_parent(path: str) -> None:
    """Create the trust file's parent directory with mode 0700 when it does not exist."""
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)


def record_key(trust_file: str, hostname: str, key: paramiko.PKey) -> None:
    """Append one ``hostname keytype base64`` line to the trust file (created 0600, parent 0700)."""
    path = os.path.expanduser(trust_file)
    line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
    with _TRUST_LOCK:
        _private_parent(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)


def load_known_hosts(client: paramiko.SSHClient, files: Iterable[str]) -> None:
    """Load every existing known_hosts file into the client's host keys (unreadable lines are skipped)."""
    keys = client.get_host_keys()
    for path in files:
        if os.path.isfile(path):
            with _TRUST_LOCK:
                keys.load(path)


def changed_reason(exc: paramiko.BadHostKeyException) -> str:
    """Return the one-line reason for a changed host key, with both fingerprints."""
    return (f"HOST KEY CHANGED for {exc.hostname}: known {exc.expected_key.get_name()} "
            f"{fingerprint(exc.expected_key)}, server offered {exc.key.get_name()} {fingerprint(exc.key)}; "
            "refusing to connect (remove the old key only if you know why it changed)")
