"""SSH targets: validate addresses, users and jump hosts; apply ~/.ssh/config (aliases, HostName, User...).

The inventory always wins: a value from the ssh config is used only where the inventory left the field unset
(for ``port``: where it is the default 22, since ``Host`` does not record whether 22 was written explicitly).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from typing import FrozenSet, Optional

import paramiko

from fleetaudit.model import Host

DEFAULT_SSH_CONFIG = "~/.ssh/config"
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$")


def _load(config_path: Optional[str]) -> Optional[paramiko.SSHConfig]:
    """Parse the ssh config file, or return None when it is absent or unreadable."""
    path = os.path.expanduser(config_path or DEFAULT_SSH_CONFIG)
    if not os.path.isfile(path):
        return None
    try:
        return paramiko.SSHConfig.from_path(path)
    except (OSError, UnicodeDecodeError, paramiko.ssh_exception.ConfigParseError):
        return None


def ssh_config_aliases(config_path: Optional[str] = None) -> FrozenSet[str]:
    """Return the literal (non-wildcard) ``Host`` names declared in the ssh config."""
    config = _load(config_path)
    if config is None:
        return frozenset()
    names = config.get_hostnames()
    return frozenset(n for n in names if not any(c in n for c in "*?!"))


def _port(value: object, current: int) -> int:
    """Return the ssh-config port when the inventory kept the default port and the value is valid."""
    if current != 22 or not isinstance(value, str) or not value.isdigit():
        return current
    port = int(value)
    return port if 0 < port < 65536 else current


def _identity(value: object) -> Optional[str]:
    """Return the first IdentityFile entry, expanded."""
    if isinstance(value, list) and value:
        return os.path.expanduser(str(value[0]))
    return None


def resolve_ssh_config(host: Host, config_path: Optional[str] = None) -> Host:
    """Return ``host`` with ssh-config values filled in where the inventory did not set them.

    ``config_path`` defaults to ``~/.ssh/config``; a missing or unparsable file leaves the host unchanged.
    Local-transport hosts (``path`` set) are returned unchanged.
    """
    if host.path is not None:
        return host
    config = _load(config_path)
    if config is None:
        return host
    alias = host.address or host.name
    try:
        found = config.lookup(alias)
    except (paramiko.ssh_exception.ConfigParseError, paramiko.ssh_exception.CouldNotCanonicalize, OSError):
        return host
    hostname = found.get("hostname")
    return dataclasses.replace(
        host,
        address=hostname if isinstance(hostname, str) and hostname else alias,
        user=host.user or _str_or_none(found.get("user")),
        port=_port(found.get("port"), host.port),
        identity_file=host.identity_file or _identity(found.get("identityfile")),
        jump=host.jump or _jump(found.get("proxyjump")),
    )


def _str_or_none(value: object) -> Optional[str]:
    """Return a non-empty string value, else None."""
    return value if isinstance(value, str) and value else None


def _jump(value: object) -> Optional[str]:
    """Return a ProxyJump value unless it is ``none`` (ssh's way of disabling it)."""
    text = _str_or_none(value)
    return None if text is None or text.lower() == "none" else text


def valid_name(name: str) -> bool:
    """Return whether a host/group name is safe as a directory name."""
    return bool(_NAME_RE.match(name)) and ".." not in name and len(name) <= 253


def valid_address(value: str, aliases: FrozenSet[str] = frozenset()) -> bool:
    """Return whether ``value`` is an RFC 1123 hostname, an IPv4/IPv6 address, or a known ssh-config alias."""
    if value in aliases:
        return True
    try:
        ipaddress.ip_address(value[1:-1] if value.startswith("[") and value.endswith("]") else value)
        return True
    except ValueError:
        pass
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    if len(value) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def valid_hop(hop: str, aliases: FrozenSet[str]) -> bool:
    """Return whether one ProxyJump hop ``[user@]host[:port]`` is well formed."""
    user, _, rest = hop.strip().rpartition("@")
    if user and not USER_RE.match(user):
        return False
    host, port = rest, ""
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else tail
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return valid_address(host, aliases)
