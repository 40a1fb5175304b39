"""Load and validate an inventory: fleetaudit's own YAML format, or an Ansible YAML inventory as is.

Every error names the file, the line and the key, and suggests the nearest valid key for a typo. All errors
are collected and raised together as one ``InventoryError`` (``str()`` gives one line per error, sorted by line).
See docs/inventory.md for the format.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import yaml
from yaml.nodes import Node, SequenceNode

from fleetaudit import inventory_ansible
from fleetaudit.inventory_fields import (
    BAD,
    Ctx,
    InventoryError,
    Pairs,
    Settings,
    build_host,
    check_keys,
    is_null,
    join_key,
    mapping_pairs,
    merge_settings,
    p_path,
    p_str,
    parse_settings,
    suggest,
)
from fleetaudit.model import Host, Inventory
from fleetaudit.sshconfig import resolve_ssh_config, ssh_config_aliases, valid_name

__all__ = ["InventoryError", "load_inventory", "resolve_ssh_config"]

TOP_KEYS = ("defaults", "hosts", "groups", "known_hosts")
GroupSection = Dict[str, List[Tuple[str, int]]]


def _native(pairs: Pairs, ctx: Ctx) -> Inventory:
    """Read fleetaudit's own format: defaults, hosts, groups, known_hosts."""
    top = {k: (n, line) for k, n, line in check_keys(pairs, TOP_KEYS, "", ctx)}
    group_section = _group_section(top["groups"][0], ctx) if "groups" in top else None
    ctx.known_groups = None if group_section is None else frozenset(group_section)
    defaults = parse_settings(top["defaults"][0], "defaults", ctx) if "defaults" in top else {}
    hosts = _native_hosts(top, defaults, ctx)
    groups = _collect_groups(hosts, group_section, ctx)
    known = p_path(top["known_hosts"][0], "known_hosts", ctx) if "known_hosts" in top else None
    host_groups = {name: tuple(g for g, members in groups.items() if name in members) for name in hosts}
    resolved = tuple(dataclasses.replace(h, groups=host_groups[n]) for n, h in hosts.items())
    return Inventory(path=ctx.file, hosts=resolved, groups=groups, known_hosts=known or None)


def _native_hosts(top: Dict[str, Tuple[Node, int]], defaults: Settings, ctx: Ctx) -> Dict[str, Host]:
    """Parse and resolve the ``hosts:`` mapping."""
    if "hosts" not in top:
        ctx.error(1, "hosts", "missing 'hosts:' (a mapping of host name -> settings)")
        return {}
    pairs = mapping_pairs(top["hosts"][0], "hosts", ctx) or []
    if not pairs and not ctx.errors:
        ctx.error(top["hosts"][1], "hosts", "no hosts defined")
    hosts: Dict[str, Host] = {}
    for name, node, line in pairs:
        where = join_key("hosts", name)
        settings = merge_settings(defaults, parse_settings(node, where, ctx))
        if not valid_name(name):
            ctx.error(line, where, f"invalid host name '{name}': use only A-Z a-z 0-9 . _ - and no leading '.' or '-'")
            continue
        host = build_host(name, line, settings, ctx, where)
        hosts.update({name: host} if host else {})
    return hosts


def _group_section(node: Node, ctx: Ctx) -> GroupSection:
    """Parse ``groups:``: group name -> list of host names (with lines)."""
    section: Dict[str, List[Tuple[str, int]]] = {}
    for group, members, line in mapping_pairs(node, "groups", ctx) or []:
        where = join_key("groups", group)
        if not valid_name(group):
            ctx.error(line, where, f"invalid group name '{group}'")
        items = members.value if isinstance(members, SequenceNode) else [] if is_null(members) else [members]
        names = [(p_str(item, where, ctx), item.start_mark.line + 1) for item in items]
        section[group] = [(n, ln) for n, ln in names if n is not BAD]
    return section


def _collect_groups(hosts: Dict[str, Host], section: Optional[GroupSection],
                    ctx: Ctx) -> Dict[str, Tuple[str, ...]]:
    """Merge group membership from the ``groups:`` section and from each host's ``groups:`` list."""
    groups: Dict[str, List[str]] = {g: [] for g in section or {}}
    for group, members in (section or {}).items():
        for member, line in members:
            if member in hosts:
                groups[group].append(member)
            else:
                ctx.error(line, join_key("groups", group), f"unknown host '{member}'{suggest(member, list(hosts))}")
    for name, host in hosts.items():
        for group in host.groups:
            groups.setdefault(group, []).append(name)
    return {g: tuple(dict.fromkeys(members)) for g, members in groups.items()}


# ---- entry point -----------------------------------------------------------------------------------------------

def _compose(path: str, ctx: Ctx) -> Optional[Node]:
    """Read the file into a YAML node tree (line numbers kept), reporting read and syntax errors."""
    try:
        with open(path, "rb") as handle:
            return yaml.compose(handle, Loader=yaml.SafeLoader)
    except OSError as exc:
        ctx.error(0, "", f"cannot read the inventory: {exc.strerror or exc}")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        ctx.error(mark.line + 1 if mark else 1, "", f"invalid YAML: {exc.problem or exc.context}")
    except yaml.reader.ReaderError as exc:
        ctx.error(_line_at(path, exc.position), "", f"invalid YAML: {exc.reason} (byte {exc.position})")
    except yaml.YAMLError as exc:
        ctx.error(1, "", f"invalid YAML: {exc}")
    except RecursionError:
        ctx.error(1, "", "invalid YAML: nested too deeply")
    return None


def _line_at(path: str, position: int) -> int:
    """Return the 1-based line of a byte position in the file (1 when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(max(position, 0)).count(b"\n") + 1
    except OSError:
        return 1


def _raise_errors(ctx: Ctx) -> None:
    """Raise every collected error as one InventoryError (sorted by line)."""
    if ctx.errors:
        errors = sorted(ctx.errors, key=lambda e: e.line)
        first = errors[0]
        raise InventoryError(first.file, first.line, first.key, first.message, first.where, errors)


def load_inventory(path: str, ssh_config: Optional[str] = None) -> Inventory:
    """Load, validate and resolve an inventory file (native or Ansible YAML); raise InventoryError on any error.

    ``ssh_config`` (default ``~/.ssh/config``) only supplies the aliases accepted as addresses; hosts are
    returned as written (call ``resolve_ssh_config`` per host to apply HostName/User/Port/...).
    """
    ctx = Ctx(file=path, base_dir=os.path.dirname(os.path.abspath(path)), aliases=ssh_config_aliases(ssh_config))
    root = _compose(path, ctx)
    _raise_errors(ctx)
    if root is None or is_null(root):
        ctx.error(1, "", "the inventory is empty: expected 'hosts:' (or an Ansible 'all:')")
        _raise_errors(ctx)
    pairs = mapping_pairs(root, "", ctx) if root is not None else None
    _raise_errors(ctx)
    found = pairs or []
    ansible = inventory_ansible.looks_like_ansible(found)
    inventory = inventory_ansible.load(found, ctx) if ansible else _native(found, ctx)
    _raise_errors(ctx)
    return inventory
