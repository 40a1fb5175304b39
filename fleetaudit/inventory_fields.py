"""Inventory building blocks: the located error type, YAML node helpers, value parsers and Host resolution.

Used by inventory.py (fleetaudit's own format) and inventory_ansible.py; see docs/inventory.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple, Union

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fleetaudit.model import Host, LoggerSpec, Thresholds
from fleetaudit.sshconfig import USER_RE, valid_address, valid_hop, valid_name

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters that would split one error into several lines, repaint the terminal or reorder the text.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


class InventoryError(Exception):
    """A user error in the inventory, located by file, line and key; ``errors`` holds every error found."""

    def __init__(self, file: str, line: int, key: str, message: str, where: Optional[str] = None,
                 errors: Sequence[InventoryError] = ()) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.where = key if where is None else where
        self.errors: Tuple[InventoryError, ...] = tuple(errors) or (self,)
        super().__init__(file, line, key, message)

    def one_line(self) -> str:
        """Return this error alone as ``file:line: where: message`` (control characters shown escaped)."""
        location = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{location}: {self.where}: {self.message}" if self.where else f"{location}: {self.message}"
        return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)

    def __str__(self) -> str:
        return "\n".join(error.one_line() for error in self.errors)


class Bad:
    """Marker for a value that failed validation (the error is already recorded)."""


BAD = Bad()
Parser = Callable[[Node, str, "Ctx"], Any]


@dataclass
class Ctx:
    """What validation needs while walking the node tree, and the errors found so far."""

    file: str
    base_dir: str
    aliases: FrozenSet[str]
    errors: List[InventoryError] = field(default_factory=list)
    known_groups: Optional[FrozenSet[str]] = None   # when set, a host's ``groups:`` must name one of these

    def error(self, at: Union[Node, int], key: str, message: str, where: Optional[str] = None) -> Bad:
        """Record an error at a node (or a line number) and return the BAD marker."""
        line = at if isinstance(at, int) else at.start_mark.line + 1
        self.errors.append(InventoryError(self.file, line, key, message, where))
        return BAD


def join_key(path: str, key: str) -> str:
    """Return a dotted key path."""
    return f"{path}.{key}" if path else key


def suggest(word: str, choices: Sequence[str]) -> str:
    """Return ' (did you mean 'x'?)' for the nearest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def kind(node: Node) -> str:
    """Name a node's type for a message."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"'{node.value}'"


def scalar(node: Node) -> Any:
    """Return a scalar node's Python value (YAML 1.1 safe types); non-scalars give BAD."""
    if not isinstance(node, ScalarNode):
        return BAD
    try:
        return SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return str(node.value)


def is_null(node: Node) -> bool:
    """Return whether a node is an empty value (``key:`` with nothing after it)."""
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


Pairs = List[Tuple[str, Node, int]]


def mapping_pairs(node: Node, path: str, ctx: Ctx, depth: int = 0) -> Optional[Pairs]:
    """Return a mapping's (key, value node, line) triples, reporting non-mappings and duplicate keys."""
    if is_null(node):
        return []
    if not isinstance(node, MappingNode) or depth > 16:
        ctx.error(node, path or "(top)", f"expected a mapping, got {kind(node)}")
        return None
    merged: Pairs = []
    explicit: Dict[str, Tuple[str, Node, int]] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                merged.extend(mapping_pairs(source, path, ctx, depth + 1) or [])
            continue
        _explicit_pair(key_node, value_node, path, ctx, explicit)
    merged_only = {p[0]: p for p in reversed(merged) if p[0] not in explicit}
    return list(merged_only.values()) + list(explicit.values())


def _explicit_pair(key_node: Node, value_node: Node, path: str, ctx: Ctx,
                   into: Dict[str, Tuple[str, Node, int]]) -> None:
    """Add one written key to ``into``, reporting non-string and duplicate keys."""
    line = key_node.start_mark.line + 1
    if not isinstance(key_node, ScalarNode):
        ctx.error(key_node, path or "(top)", f"a key must be a plain name, got {kind(key_node)}")
        return
    key = str(key_node.value)
    if key in into:
        first = into[key][2]
        ctx.error(line, join_key(path, key), f"duplicate key '{key}' (first at line {first})", where=path or key)
        return
    into[key] = (key, value_node, line)


def check_keys(pairs: Pairs, allowed: Sequence[str], path: str, ctx: Ctx) -> Pairs:
    """Report unknown keys (with the nearest valid key) and return the known ones."""
    known: Pairs = []
    for key, node, line in pairs:
        if key in allowed:
            known.append((key, node, line))
        else:
            ctx.error(line, join_key(path, key), f"unknown key '{key}'{suggest(key, allowed)}", where=path or "(top)")
    return known


# ---- value parsers: (node, key path, ctx) -> value or BAD ------------------------------------------------

def p_str(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a non-empty string."""
    value = scalar(node)
    if not isinstance(value, str) or not value.strip():
        return ctx.error(node, key, f"expected a non-empty string, got {kind(node)}")
    return value


def p_bool(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse true/false (YAML booleans: true, false, yes, no, on, off)."""
    value = scalar(node)
    if not isinstance(value, bool):
        return ctx.error(node, key, f"expected true or false, got {kind(node)}")
    return value


def p_int(node: Node, key: str, ctx: Ctx, low: int, high: int) -> Any:
    """Parse an integer in [low, high]; a string of digits is accepted."""
    value = scalar(node)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return ctx.error(node, key, f"expected an integer {low}..{high}, got {kind(node)}")
    return value


def p_port(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a TCP port."""
    return p_int(node, key, ctx, 1, 65535)


def p_number(node: Node, key: str, ctx: Ctx, integer: bool) -> Any:
    """Parse a non-negative number (an integer when ``integer``)."""
    value = scalar(node)
    ok = isinstance(value, int) or (isinstance(value, float) and not integer)
    if isinstance(value, bool) or not ok or not 0 <= value < float("inf"):
        wanted = "a non-negative integer" if integer else "a non-negative number"
        return ctx.error(node, key, f"expected {wanted}, got {kind(node)}")
    return value


def p_size(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a byte count: an integer or a string like 32M, 512K, 1G (powers of 1024)."""
    value = scalar(node)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        return ctx.error(node, key, f"expected a size in bytes such as 33554432 or '32M', got {kind(node)}")
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024 ** power)


def p_strlist(node: Node, key: str, ctx: Ctx, item: Optional[Parser] = None) -> Any:
    """Parse a list of strings (a single string counts as a list of one)."""
    items = node.value if isinstance(node, SequenceNode) else [node]
    if is_null(node):
        return ()
    parse = item or p_str
    values = [parse(n, f"{key}[{i}]", ctx) for i, n in enumerate(items)]
    return BAD if any(v is BAD for v in values) else tuple(values)


def p_name(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a host or group name: letters, digits, '.', '_', '-', not starting with '.' or '-'."""
    value = p_str(node, key, ctx)
    if value is BAD or valid_name(value):
        return value
    return ctx.error(node, key, f"invalid name '{value}': use only A-Z a-z 0-9 . _ - and no leading '.' or '-'")


def p_group(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a group name; it must be declared when the inventory has a ``groups:`` section."""
    value = p_name(node, key, ctx)
    if value is BAD or ctx.known_groups is None or value in ctx.known_groups:
        return value
    return ctx.error(node, key, f"unknown group '{value}'{suggest(value, sorted(ctx.known_groups))}")


def p_names(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a list of group names."""
    return p_strlist(node, key, ctx, p_group)


def p_path(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a local file path: ``~`` expanded, relative paths taken from the inventory's directory."""
    value = p_str(node, key, ctx)
    if value is BAD:
        return value
    return os.path.normpath(os.path.join(ctx.base_dir, os.path.expanduser(value)))


def p_abspath(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse an absolute path on the audited host."""
    value = p_str(node, key, ctx)
    if value is BAD or value.startswith("/"):
        return value
    return ctx.error(node, key, f"expected an absolute path on the host, got '{value}'")


def p_abspaths(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a list of absolute host paths."""
    return p_strlist(node, key, ctx, p_abspath)


def p_user(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a login name."""
    value = p_str(node, key, ctx)
    if value is BAD or USER_RE.match(value):
        return value
    return ctx.error(node, key, f"invalid user name '{value}'")


def p_address(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse an SSH address: hostname (RFC 1123), IPv4, IPv6, or an alias from ~/.ssh/config."""
    value = scalar(node)
    text = value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else ""
    if text and valid_address(text, ctx.aliases):
        return text
    hint = " (put the user in 'user:')" if isinstance(value, str) and "@" in value else ""
    return ctx.error(node, key, f"not a hostname, IP address or ~/.ssh/config alias: {kind(node)}{hint}")


def p_jump(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a jump host in ProxyJump form: [user@]host[:port][,...] or an ssh-config alias."""
    value = p_str(node, key, ctx)
    if value is BAD or all(valid_hop(hop, ctx.aliases) for hop in value.split(",")):
        return value
    return ctx.error(node, key, f"expected [user@]host[:port] or a ~/.ssh/config alias, got '{value}'")


def p_logger(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a ``logger:`` mapping (partial: merged key by key with defaults)."""
    return _sub_mapping(node, key, ctx, _LOGGER_KEYS)


def p_table(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse an SQL identifier (table or column name)."""
    value = p_str(node, key, ctx)
    if value is BAD or _IDENT_RE.match(value):
        return value
    return ctx.error(node, key, f"expected an SQL name (letters, digits, '_'), got '{value}'")


def _threshold_parser(field_type: Any) -> Parser:
    """Return the parser for one Thresholds field, by its annotated type."""
    integer = field_type in (int, "int")

    def parse(node: Node, key: str, ctx: Ctx) -> Any:
        value = p_number(node, key, ctx, integer)
        return value if value is BAD or integer else float(value)

    return parse


def p_thresholds(node: Node, key: str, ctx: Ctx) -> Any:
    """Parse a ``thresholds:`` mapping (partial: merged key by key with defaults)."""
    return _sub_mapping(node, key, ctx, _THRESHOLD_KEYS)


def _sub_mapping(node: Node, key: str, ctx: Ctx, parsers: Dict[str, Parser]) -> Any:
    """Parse a nested mapping with its own parsers; bad entries are dropped after being reported."""
    pairs = mapping_pairs(node, key, ctx)
    if pairs is None:
        return BAD
    values = {k: parsers[k](n, join_key(key, k), ctx) for k, n, _ in check_keys(pairs, list(parsers), key, ctx)}
    return {k: v for k, v in values.items() if v is not BAD}


_LOGGER_KEYS: Dict[str, Parser] = {
    "db_path": p_abspath, "table": p_table, "timestamp_column": p_table,
    "interval_minutes": lambda n, k, c: p_int(n, k, c, 1, 1440),
}
_THRESHOLD_KEYS: Dict[str, Parser] = {f.name: _threshold_parser(f.type) for f in dataclasses.fields(Thresholds)}
HOST_KEYS: Dict[str, Parser] = {
    "address": p_address, "port": p_port, "user": p_user, "identity_file": p_path, "jump": p_jump,
    "sudo": p_bool, "path": p_path, "groups": p_names, "tags": p_strlist, "logger": p_logger,
    "softether_dirs": p_abspaths, "expected_services": p_strlist, "known_hosts": p_path,
    "thresholds": p_thresholds, "log_cap_bytes": p_size,
}


# ---- settings, resolution into Host ------------------------------------------------------------------------

Settings = Dict[str, Any]


def parse_settings(node: Node, path: str, ctx: Ctx) -> Settings:
    """Parse a per-host settings mapping (also used for ``defaults:``); bad values are reported and dropped."""
    values = _sub_mapping(node, path, ctx, HOST_KEYS)
    return values if isinstance(values, dict) else {}


def merge_settings(base: Settings, override: Settings) -> Settings:
    """Return ``base`` overridden by ``override``; ``logger`` and ``thresholds`` merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if key in ("logger", "thresholds"):
            merged[key] = {**base.get(key, {}), **value}
        elif key == "groups":
            merged[key] = tuple(dict.fromkeys(tuple(base.get(key, ())) + tuple(value)))
        else:
            merged[key] = value
    return merged


def build_host(name: str, line: int, settings: Settings, ctx: Ctx, where: str) -> Optional[Host]:
    """Resolve one host's merged settings into a ``Host``; cross-field errors are reported at ``line``."""
    values = dict(settings)
    problem = _target_problem(name, values, ctx)
    thresholds = Thresholds(**values.pop("thresholds", {}))
    if thresholds.disk_warning_percent > thresholds.disk_critical_percent:
        ctx.error(line, join_key(where, "thresholds"), "disk_warning_percent is above disk_critical_percent")
        return None
    if problem:
        ctx.error(line, where, problem)
        return None
    values["address"] = values.get("address") or (None if values.get("path") else name)
    logger = LoggerSpec(**values.pop("logger", {}))
    return Host(name=name, logger=logger, thresholds=thresholds, origin=f"{ctx.file}:{line}", **values)


def _target_problem(name: str, values: Settings, ctx: Ctx) -> str:
    """Return what is wrong with a host's address/path pair, or ''; the address defaults to the name."""
    if values.get("address") and values.get("path"):
        return "'address' and 'path' are mutually exclusive (SSH or local tree)"
    if not values.get("address") and not values.get("path") and not valid_address(name, ctx.aliases):
        return f"no 'address' or 'path', and the name '{name}' is not a hostname or ~/.ssh/config alias"
    return ""

