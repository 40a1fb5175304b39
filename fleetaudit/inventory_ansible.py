"""Read an Ansible YAML inventory (``all:`` / ``children:`` / ``hosts:`` / ``vars:``) into fleetaudit hosts.

Connection variables map onto host keys (ansible_host -> address, ansible_user -> user, ansible_port -> port,
ansible_ssh_private_key_file -> identity_file, ansible_become -> sudo, ``-J``/``ProxyJump`` in
ansible_ssh_common_args -> jump). Every other variable is ignored, except ``fleetaudit:``: a mapping of
fleetaudit host keys (logger, thresholds, expected_services...) at group or host level. Variable precedence
follows Ansible: ``all`` < parent groups < child groups (same depth: by name) < host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Set, Tuple

from yaml.nodes import MappingNode, Node, ScalarNode

from fleetaudit.inventory_fields import (
    BAD,
    Ctx,
    Pairs,
    Parser,
    Settings,
    build_host,
    check_keys,
    is_null,
    join_key,
    kind,
    mapping_pairs,
    merge_settings,
    p_address,
    p_jump,
    p_path,
    p_port,
    p_user,
    parse_settings,
    scalar,
)
from fleetaudit.model import Inventory
from fleetaudit.sshconfig import valid_name

GROUP_KEYS = ("hosts", "children", "vars")
FLEETAUDIT_VAR = "fleetaudit"
_JUMP_RE = re.compile(r"(?:-J\s*|ProxyJump[= ]\s*)(\S+)")
_TRUE = ("yes", "true", "on", "1", "y")
_FALSE = ("no", "false", "off", "0", "n")


def _p_loose_bool(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a boolean the way Ansible does (true/false, yes/no, on/off, 1/0, also as strings)."""
    value = scalar(node)
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if isinstance(value, bool) or text in _TRUE + _FALSE:
        return value if isinstance(value, bool) else text in _TRUE
    return ctx.error(node, key, f"expected a boolean, got {kind(node)}")


def _p_common_args(node: Node, key: str, ctx: Ctx) -> Any:
    """Take the jump host out of ssh arguments (``-J host`` or ``-o ProxyJump=host``); BAD when none."""
    value = scalar(node)
    match = _JUMP_RE.search(value) if isinstance(value, str) else None
    if match is None:
        return BAD
    return p_jump(ScalarNode("tag:yaml.org,2002:str", match.group(1).strip("'\""), node.start_mark), key, ctx)


ANSIBLE_VARS: Dict[str, Tuple[str, Parser]] = {
    "ansible_host": ("address", p_address), "ansible_ssh_host": ("address", p_address),
    "ansible_user": ("user", p_user), "ansible_ssh_user": ("user", p_user),
    "ansible_port": ("port", p_port), "ansible_ssh_port": ("port", p_port),
    "ansible_ssh_private_key_file": ("identity_file", p_path), "ansible_private_key_file": ("identity_file", p_path),
    "ansible_become": ("sudo", _p_loose_bool),
    "ansible_ssh_common_args": ("jump", _p_common_args), "ansible_ssh_extra_args": ("jump", _p_common_args),
}


def looks_like_ansible(pairs: Pairs) -> bool:
    """Return whether a top-level mapping is an Ansible inventory (``all:``, or only group mappings)."""
    keys = {key for key, _, _ in pairs}
    if "all" in keys:
        return True
    if keys & {"defaults", "hosts", "groups", "known_hosts"} or not pairs:
        return False
    return all(_is_group_node(node) for _, node, _ in pairs)


def _is_group_node(node: Node) -> bool:
    """Return whether a node looks like an Ansible group (a mapping of hosts/children/vars, or empty)."""
    if is_null(node):
        return True
    return isinstance(node, MappingNode) and all(
        isinstance(k, ScalarNode) and k.value in GROUP_KEYS for k, _ in node.value)


def parse_vars(node: Node, where: str, ctx: Ctx) -> Settings:
    """Turn an Ansible vars mapping into fleetaudit settings; unrelated variables are ignored."""
    settings: Settings = {}
    for key, value_node, _ in mapping_pairs(node, where, ctx) or []:
        if key == FLEETAUDIT_VAR:
            settings = merge_settings(settings, parse_settings(value_node, join_key(where, key), ctx))
        elif key in ANSIBLE_VARS and not _templated(value_node):
            target, parser = ANSIBLE_VARS[key]
            value = parser(value_node, join_key(where, key), ctx)
            settings.update({} if value is BAD else {target: value})
    return settings


def _templated(node: Node) -> bool:
    """Return whether a value is a Jinja template, which fleetaudit cannot evaluate (it is then ignored)."""
    return isinstance(node, ScalarNode) and "{{" in str(node.value)


@dataclass
class _Tree:
    """Groups, hosts and variables gathered from the whole inventory."""

    depth: Dict[str, int] = field(default_factory=dict)
    children: Dict[str, List[str]] = field(default_factory=dict)
    direct: Dict[str, List[str]] = field(default_factory=dict)
    group_vars: Dict[str, Settings] = field(default_factory=dict)
    host_vars: Dict[str, Settings] = field(default_factory=dict)
    host_line: Dict[str, Tuple[int, str]] = field(default_factory=dict)


def _walk_group(name: str, node: Node, where: str, depth: int, tree: _Tree, ctx: Ctx) -> None:
    """Record one group's hosts, vars and children, recursively (a cycle stops at depth 32)."""
    tree.depth[name] = max(tree.depth.get(name, 0), depth)
    tree.children.setdefault(name, [])
    tree.direct.setdefault(name, [])
    if depth > 32:
        ctx.error(node, where, "groups nested too deeply (a cycle in children?)")
        return
    for key, value_node, _ in check_keys(mapping_pairs(node, where, ctx) or [], GROUP_KEYS, where, ctx):
        sub = join_key(where, key)
        if key == "vars":
            tree.group_vars[name] = merge_settings(tree.group_vars.get(name, {}), parse_vars(value_node, sub, ctx))
        elif key == "hosts":
            _walk_hosts(name, value_node, sub, tree, ctx)
        else:
            for child, child_node, _ in mapping_pairs(value_node, sub, ctx) or []:
                tree.children[name].append(child)
                _walk_group(child, child_node, join_key(sub, child), depth + 1, tree, ctx)


def _walk_hosts(group: str, node: Node, where: str, tree: _Tree, ctx: Ctx) -> None:
    """Record the hosts listed directly in a group, with their variables."""
    for host, host_node, line in mapping_pairs(node, where, ctx) or []:
        path = join_key(where, host)
        if not valid_name(host):
            ctx.error(line, path, f"invalid host name '{host}': use only A-Z a-z 0-9 . _ - and no leading '.' "
                                  "or '-' (host ranges like web[01:09] are not supported)", where=where)
            continue
        tree.direct[group].append(host)
        tree.host_line.setdefault(host, (line, path))
        tree.host_vars[host] = merge_settings(tree.host_vars.get(host, {}), parse_vars(host_node, path, ctx))


def _members(group: str, tree: _Tree, seen: Set[str]) -> Set[str]:
    """Return every host in a group and its descendants."""
    if group in seen:
        return set()
    seen.add(group)
    hosts = set(tree.direct.get(group, []))
    for child in tree.children.get(group, []):
        hosts |= _members(child, tree, seen)
    return hosts


def load(pairs: Pairs, ctx: Ctx) -> Inventory:
    """Build the inventory from an Ansible YAML inventory's top-level (group name -> group) pairs."""
    tree = _Tree()
    for group, node, _ in pairs:
        _walk_group(group, node, group, 0 if group == "all" else 1, tree, ctx)
    members = {g: _members(g, tree, set()) for g in tree.depth}
    named = {g: m for g, m in members.items() if g not in ("all", "ungrouped") and m}
    hosts = []
    for host, (line, path) in tree.host_line.items():
        in_groups = sorted((tree.depth[g], g) for g, m in members.items() if host in m)
        settings: Settings = {}
        for _, group in in_groups:
            settings = merge_settings(settings, tree.group_vars.get(group, {}))
        settings = merge_settings(settings, tree.host_vars.get(host, {}))
        own = tuple(sorted(g for g in named if host in named[g])) + tuple(settings.get("groups", ()))
        settings["groups"] = tuple(dict.fromkeys(own))
        built = build_host(host, line, settings, ctx, path)
        hosts.extend([built] if built else [])
    groups: Dict[str, List[str]] = {}
    for built in hosts:
        for group in dict.fromkeys(built.groups):
            groups.setdefault(group, []).append(built.name)
    return Inventory(path=ctx.file, hosts=tuple(hosts), groups={g: tuple(m) for g, m in groups.items()})
