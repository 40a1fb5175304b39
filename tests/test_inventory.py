"""Tests for inventory loading: located errors with suggestions, the native and Ansible formats, ssh config."""

from __future__ import annotations

import dataclasses
import os
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetaudit.inventory import InventoryError, load_inventory, resolve_ssh_config
from fleetaudit.model import Host, LoggerSpec, Thresholds

REPO = Path(__file__).resolve().parent.parent
NO_SSH_CONFIG = "/nonexistent/ssh_config"


def write(tmp_path: Path, text: str, name: str = "inventory.yaml") -> str:
    """Write an inventory file and return its path (relative names keep messages short)."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def load(tmp_path: Path, text: str, ssh_config: Optional[str] = NO_SSH_CONFIG) -> Any:
    """Load an inventory written from text."""
    return load_inventory(write(tmp_path, text), ssh_config=ssh_config)


# (inventory text, line, key, where/message fragment, suggestion or None)
BAD = [
    ("hosts:\n  rasp3bprs1:\n    adress: 10.0.0.1\n", 3, "hosts.rasp3bprs1.adress",
     "hosts.rasp3bprs1: unknown key 'adress'", "did you mean 'address'?"),
    ("hosts:\n  a:\n    port: abc\n", 3, "hosts.a.port", "hosts.a.port: expected an integer 1..65535", None),
    ("hosts:\n  a:\n    port: 70000\n", 3, "hosts.a.port", "expected an integer 1..65535, got '70000'", None),
    ("hosts:\n  a:\n    port: 0\n", 3, "hosts.a.port", "expected an integer 1..65535", None),
    ("hosts:\n  a:\n    sudo: yes please\n", 3, "hosts.a.sudo", "expected true or false, got 'yes please'", None),
    ("hosts:\n  a: {}\n  b: {}\n  a:\n    port: 2\n", 4, "hosts.a", "duplicate key 'a' (first at line 2)", None),
    ("hosts:\n  a:\n    user: pi\n    user: root\n", 4, "hosts.a.user", "duplicate key 'user' (first at line 3)", None),
    ("hosts:\n  'x;rm -rf':\n    address: h\n", 2, "hosts.x;rm -rf", "invalid host name", None),
    ("hosts:\n  ../etc:\n    address: h\n", 2, "hosts.../etc", "invalid host name", None),
    ("hosts:\n  .hidden:\n    address: h\n", 2, "hosts..hidden", "invalid host name", None),
    ("hosts:\n  a/b:\n    address: h\n", 2, "hosts.a/b", "invalid host name", None),
    ("hosts:\n  a:\n    address: 'not an address!'\n", 3, "hosts.a.address", "not a hostname, IP address", None),
    ("hosts:\n  a:\n    address: pi@host\n", 3, "hosts.a.address", "put the user in 'user:'", None),
    ("hosts:\n  a:\n    address: 300.1.1.1\n", 3, "hosts.a.address", "not a hostname", None),
    ("hosts:\n  a:\n    address: -bad-.lan\n", 3, "hosts.a.address", "not a hostname", None),
    ("hosts:\n  a:\n    groups: [softether_3bplu]\ngroups:\n  softether_3bplus: [a]\n", 3, "hosts.a.groups[0]",
     "unknown group 'softether_3bplu'", "did you mean 'softether_3bplus'?"),
    ("hosts:\n  rasp3bprs1: {}\ngroups:\n  g:\n    - rasp3bprs3\n", 5, "groups.g",
     "unknown host 'rasp3bprs3'", "did you mean 'rasp3bprs1'?"),
    ("hosts:\n  pi_home: {}\n", 2, "hosts.pi_home", "no 'address' or 'path'", None),
    ("hosts:\n  a:\n    address: h\n    path: /mnt\n", 2, "hosts.a", "mutually exclusive", None),
    ("", 1, "", "the inventory is empty", None),
    ("# only a comment\n", 1, "", "the inventory is empty", None),
    ("hosts:\n  a:\n    port: [1\n", 4, "", "invalid YAML", None),
    ("hosts:\n  a: {address: h\n\n\n", 5, "", "invalid YAML", None),
    ("hosts:\n\ta: {}\n", 2, "", "invalid YAML", None),
    ("hosts: [a, b]\n", 1, "hosts", "expected a mapping, got a list", None),
    ("hosts:\n", 1, "hosts", "no hosts defined", None),
    ("defaults: {}\n", 1, "hosts", "missing 'hosts:'", None),
    ("defualts:\n  user: pi\nhosts:\n  a: {}\n", 1, "defualts", "unknown key 'defualts'", "did you mean 'defaults'?"),
    ("hosts:\n  a:\n    thresholds:\n      disk_warnin_percent: 3\n", 4, "hosts.a.thresholds.disk_warnin_percent",
     "unknown key 'disk_warnin_percent'", "did you mean 'disk_warning_percent'?"),
    ("hosts:\n  a:\n    thresholds: {late_minutes: 1.5}\n", 3, "hosts.a.thresholds.late_minutes",
     "expected a non-negative integer", None),
    ("hosts:\n  a:\n    thresholds: {disk_warning_percent: -1}\n", 3, "hosts.a.thresholds.disk_warning_percent",
     "non-negative number", None),
    ("hosts:\n  a:\n    thresholds: {disk_warning_percent: 99, disk_critical_percent: 90}\n", 2,
     "hosts.a.thresholds", "disk_warning_percent is above disk_critical_percent", None),
    ("hosts:\n  a:\n    logger:\n      tabel: temperatures\n", 4, "hosts.a.logger.tabel", "unknown key 'tabel'",
     "did you mean 'table'?"),
    ("hosts:\n  a:\n    logger: {table: 'x; drop'}\n", 3, "hosts.a.logger.table", "expected an SQL name", None),
    ("hosts:\n  a:\n    logger: {interval_minutes: 0}\n", 3, "hosts.a.logger.interval_minutes", "1..1440", None),
    ("hosts:\n  a:\n    logger: {db_path: logging.db}\n", 3, "hosts.a.logger.db_path", "absolute path", None),
    ("hosts:\n  a:\n    log_cap_bytes: 12Q\n", 3, "hosts.a.log_cap_bytes", "expected a size in bytes", None),
    ("hosts:\n  a:\n    softether_dirs: [relative/dir]\n", 3, "hosts.a.softether_dirs[0]", "absolute path", None),
    ("hosts:\n  a:\n    expected_services: [ssh, {x: 1}]\n", 3, "hosts.a.expected_services[1]",
     "expected a non-empty string", None),
    ("hosts:\n  a:\n    jump: 'user@bastion:99999'\n", 3, "hosts.a.jump", "expected [user@]host[:port]", None),
    ("hosts:\n  a:\n    exepcted_services: [ssh]\n", 3, "hosts.a.exepcted_services", "unknown key",
     "did you mean 'expected_services'?"),
    ("defaults:\n  sudo: maybe\nhosts:\n  a: {}\n", 2, "defaults.sudo", "expected true or false", None),
    ("all:\n  hosts:\n    pi1:\n      ansible_port: abc\n", 4, "all.hosts.pi1.ansible_port",
     "expected an integer 1..65535", None),
    ("all:\n  childs:\n    g: {}\n", 2, "all.childs", "unknown key 'childs'", "did you mean 'children'?"),
    ("all:\n  hosts:\n    web[01:03]:\n", 3, "all.hosts.web[01:03]", "host ranges", None),
    ("all:\n  hosts:\n    pi1:\n      fleetaudit: {sudo: 3}\n", 4, "all.hosts.pi1.fleetaudit.sudo",
     "expected true or false", None),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment", "suggestion"), BAD)
def test_bad_inventory_is_located(tmp_path: Path, text: str, line: int, key: str, fragment: str,
                                  suggestion: Optional[str]) -> None:
    """Each bad inventory gives an InventoryError naming file, line and key, with the suggestion."""
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, ssh_config=NO_SSH_CONFIG)
    error = info.value
    assert (error.file, error.line, error.key) == (path, line, key)
    assert str(error).splitlines()[0].startswith(f"{path}:{line}: ")
    assert fragment in str(error).splitlines()[0]
    if suggestion:
        assert str(error).splitlines()[0].endswith(f"({suggestion})")


def test_exact_message_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented one-line format: file:line: where: message (did you mean ...?)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yaml").write_text("hosts:\n  rasp3bprs1:\n    adress: 10.0.0.1\n")
    with pytest.raises(InventoryError) as info:
        load_inventory("inventory.yaml", ssh_config=NO_SSH_CONFIG)
    assert str(info.value) == "inventory.yaml:3: hosts.rasp3bprs1: unknown key 'adress' (did you mean 'address'?)"
    assert info.value.message == "unknown key 'adress' (did you mean 'address'?)"


def test_all_errors_are_reported_sorted(tmp_path: Path) -> None:
    """Several mistakes give one line each, in file order; the first is the exception's own location."""
    text = "hosts:\n  a:\n    port: abc\n  b:\n    sudo: 2\n    adress: x\n"
    with pytest.raises(InventoryError) as info:
        load(tmp_path, text)
    lines = str(info.value).splitlines()
    assert [e.line for e in info.value.errors] == [3, 5, 6]
    assert len(lines) == 3 and info.value.line == 3


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is an InventoryError, not an OSError."""
    with pytest.raises(InventoryError, match="cannot read the inventory"):
        load_inventory(str(tmp_path / "nope.yaml"))


def test_example_inventory_round_trip() -> None:
    """The documented top-level example loads: two SoftEther 3B+ twins with the logger settings."""
    inventory = load_inventory(str(REPO / "inventory.yaml"), ssh_config=NO_SSH_CONFIG)
    assert [h.name for h in inventory.hosts] == ["rasp3bprs1", "rasp3bprs2"]
    assert inventory.groups == {"softether_3bplus": ("rasp3bprs1", "rasp3bprs2")}
    for host in inventory.hosts:
        assert host.sudo and host.user == "pi" and host.groups == ("softether_3bplus",)
        assert host.logger == LoggerSpec("/var/logger/logging.db", "temperatures", "timestamp", 5)
        assert host.thresholds == Thresholds()
        assert "softether-vpnserver" in host.expected_services
        assert host.origin.startswith(str(REPO / "inventory.yaml") + ":")


GOOD = """\
defaults:
  user: pi
  sudo: true
  log_cap_bytes: 8M
  logger: {db_path: /var/logger/logging.db, table: temperatures}
  thresholds: {disk_warning_percent: 80, late_minutes: 3}
hosts:
  one:
    address: 192.168.1.20
    port: "2222"
    identity_file: keys/pi
    jump: admin@bastion.example.net:2200
    tags: garage
    logger: {interval_minutes: 5}
    thresholds: {late_minutes: 4}
  two:
    address: "fe80::1"
    sudo: false
    groups: [extra]
    softether_dirs: [/opt/vpn]
  three:
    path: sdcard
  four: {}
groups:
  twins: [one, two]
  extra: []
known_hosts: ./kh
"""


def test_good_inventory_resolves_defaults_and_overrides(tmp_path: Path) -> None:
    """Defaults apply, host settings win, logger and thresholds merge key by key, paths are made absolute."""
    inventory = load(tmp_path, GOOD)
    hosts = {h.name: h for h in inventory.hosts}
    one, two, three, four = hosts["one"], hosts["two"], hosts["three"], hosts["four"]
    assert (one.address, one.port, one.user, one.sudo, one.jump) == (
        "192.168.1.20", 2222, "pi", True, "admin@bastion.example.net:2200")
    assert one.identity_file == str(tmp_path / "keys" / "pi") and one.tags == ("garage",)
    assert one.logger == LoggerSpec("/var/logger/logging.db", "temperatures", None, 5)
    assert one.thresholds == dataclasses.replace(Thresholds(), disk_warning_percent=80.0, late_minutes=4)
    assert one.log_cap_bytes == 8 * 1024 * 1024 and one.origin == f"{tmp_path / 'inventory.yaml'}:8"
    assert two.sudo is False and two.address == "fe80::1" and two.softether_dirs == ("/opt/vpn",)
    assert (three.path, three.address) == (str(tmp_path / "sdcard"), None)
    assert four.address == "four"
    assert inventory.groups == {"twins": ("one", "two"), "extra": ("two",)}
    assert two.groups == ("twins", "extra") and four.groups == ()
    assert inventory.known_hosts == str(tmp_path / "kh")


def test_groups_declared_by_use_without_groups_section(tmp_path: Path) -> None:
    """Without a groups: section, a host's groups: list declares the groups."""
    inventory = load(tmp_path, "hosts:\n  a: {groups: [pis]}\n  b: {groups: pis}\n")
    assert inventory.groups == {"pis": ("a", "b")}


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    """YAML merge keys work; an explicit key overrides a merged one without a duplicate-key error."""
    text = "hosts:\n  a: &a {user: pi, port: 2200}\n  b:\n    <<: *a\n    port: 2201\n"
    hosts = {h.name: h for h in load(tmp_path, text).hosts}
    assert (hosts["b"].user, hosts["b"].port) == ("pi", 2201)


ANSIBLE = """\
all:
  vars:
    ansible_user: pi
    ntp_server: pool.ntp.org
    fleetaudit:
      logger: {table: temperatures, interval_minutes: 5}
  hosts:
    lonely:
  children:
    pis:
      vars:
        ansible_become: "yes"
        ansible_user: admin
      children:
        softether_3bplus:
          vars:
            fleetaudit: {expected_services: [vpnserver]}
          hosts:
            rasp3bprs1:
              ansible_host: 192.168.1.10
              ansible_port: "2222"
              ansible_ssh_private_key_file: /keys/pi
              some_app_var: {deep: [1, 2]}
            rasp3bprs2:
              ansible_host: "{{ lookup('env', 'X') }}"
              ansible_ssh_common_args: '-o ProxyJump=jumper@bastion:2200'
              fleetaudit: {sudo: false, logger: {timestamp_column: ts}}
    ungrouped:
      hosts:
        rasp3bprs2:
"""


def test_ansible_inventory(tmp_path: Path) -> None:
    """An Ansible YAML inventory loads as is: connection vars map, nested groups flatten, fleetaudit: applies."""
    inventory = load(tmp_path, ANSIBLE)
    hosts = {h.name: h for h in inventory.hosts}
    one, two, lonely = hosts["rasp3bprs1"], hosts["rasp3bprs2"], hosts["lonely"]
    assert (one.address, one.port, one.user, one.sudo, one.identity_file) == (
        "192.168.1.10", 2222, "admin", True, "/keys/pi")
    assert (two.address, two.sudo, two.jump) == ("rasp3bprs2", False, "jumper@bastion:2200")
    assert two.logger == LoggerSpec(table="temperatures", timestamp_column="ts", interval_minutes=5)
    assert one.expected_services == ("vpnserver",) and lonely.expected_services == ()
    assert (lonely.user, lonely.sudo) == ("pi", False)
    assert inventory.groups == {"pis": ("rasp3bprs1", "rasp3bprs2"),
                                "softether_3bplus": ("rasp3bprs1", "rasp3bprs2")}
    assert one.groups == ("pis", "softether_3bplus")


def test_ansible_without_all(tmp_path: Path) -> None:
    """Top-level group names without all: are recognised as Ansible too."""
    inventory = load(tmp_path, "pis:\n  hosts:\n    pi1: {ansible_host: 10.0.0.1}\n")
    assert [(h.name, h.address, h.groups) for h in inventory.hosts] == [("pi1", "10.0.0.1", ("pis",))]


SSH_CONFIG = """\
Host pi_home
    HostName 10.1.2.3
    User piuser
    Port 2022
    IdentityFile ~/.ssh/pi_home_key
    ProxyJump bastion

Host other
    HostName 10.9.9.9
"""


def test_ssh_config_alias_is_a_valid_address_and_resolves(tmp_path: Path) -> None:
    """A ~/.ssh/config alias (even one that is not a hostname) is accepted and resolved on request."""
    config = tmp_path / "ssh_config"
    config.write_text(SSH_CONFIG)
    text = "hosts:\n  pi_home: {}\n  b: {address: other, user: me, port: 2200}\n"
    inventory = load(tmp_path, text, ssh_config=str(config))
    home = resolve_ssh_config(inventory.hosts[0], str(config))
    assert (home.address, home.user, home.port, home.jump) == ("10.1.2.3", "piuser", 2022, "bastion")
    assert home.identity_file == os.path.expanduser("~/.ssh/pi_home_key")
    other = resolve_ssh_config(inventory.hosts[1], str(config))
    assert (other.address, other.user, other.port) == ("10.9.9.9", "me", 2200)


def test_ssh_config_absent_or_local_host_is_unchanged(tmp_path: Path) -> None:
    """No config file, or a local-tree host: the host comes back as it was."""
    host = Host(name="a", address="a.lan")
    assert resolve_ssh_config(host, str(tmp_path / "missing")) == host
    config = tmp_path / "ssh_config"
    config.write_text(SSH_CONFIG)
    local = Host(name="pi_home", path="/mnt/sd")
    assert resolve_ssh_config(local, str(config)) == local


# ---- property: whatever the input, only InventoryError or an Inventory -------------------------------------

KEYS = st.sampled_from(["hosts", "defaults", "groups", "all", "children", "vars", "address", "port", "sudo",
                        "path", "logger", "thresholds", "a", "b", "x y", "..", "ansible_host", "fleetaudit"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=True),
                   st.text(max_size=12), st.sampled_from(["10.0.0.1", "::1", "32M", "pi@h", "/var", "yes"]))
TREES = st.recursive(LEAVES, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                    st.dictionaries(KEYS, kids, max_size=5)), max_leaves=25)


def _check_only_inventory_errors(tmp_path: Path, text: str) -> None:
    """Load text; anything but an Inventory or an InventoryError fails the test."""
    path = tmp_path / "prop.yaml"
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        load_inventory(str(path), ssh_config=NO_SSH_CONFIG)
    except InventoryError as error:
        assert error.errors and all(e.line >= 0 for e in error.errors)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TREES)
def test_random_mappings_only_raise_inventory_error(tmp_path: Path, tree: Any) -> None:
    """Random YAML structures either load or raise InventoryError, never anything else."""
    _check_only_inventory_errors(tmp_path, yaml.safe_dump(tree))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("hosts:all-[]{}&*<>!|%@`'\"\t\n #.,?0123456789abc\x00\x85é")),
               max_size=80))
def test_random_text_only_raises_inventory_error(tmp_path: Path, text: str) -> None:
    """Random YAML-ish text either loads or raises InventoryError, never anything else."""
    _check_only_inventory_errors(tmp_path, text)
