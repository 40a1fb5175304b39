"""`fleetaudit demo`: the built-in simulated fleet, over real sshd when possible, from its files otherwise."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import yaml

from fleetaudit.simfleet import SimFleet, build_tree, can_run, default_fleet, free_net, with_net


def _local_inventory(workdir: Path) -> Path:
    """Build the demo hosts' trees as plain directories and write an inventory of `path:` hosts."""
    hosts: Dict[str, Any] = {}
    groups: Dict[str, list[str]] = {}
    for spec in default_fleet():
        if spec.kind not in ("incident", "healthy"):
            continue                      # the fault hosts are about SSH: they have no meaning here
        tree = (workdir / "trees" / spec.name).resolve()
        if tree.exists():
            shutil.rmtree(tree)
        build_tree(spec, tree)
        hosts[spec.name] = {"path": str(tree), "expected_services": list(spec.expected_services)}
        for group in spec.groups:
            groups.setdefault(group, []).append(spec.name)
    inventory = workdir / "inventory-local.yaml"
    data = {
        "defaults": {"logger": {"db_path": "/var/logger/logging.db", "table": "temperatures",
                                "timestamp_column": "timestamp", "interval_minutes": 5}},
        "hosts": hosts, "groups": groups,
    }
    inventory.write_text("# fleetaudit demo: the simulated fleet audited from its files\n"
                         + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return inventory


@contextlib.contextmanager
def demo_inventory(workdir: Path, force_local: bool) -> Iterator[Tuple[Path, str]]:
    """Yield (inventory path, a note saying how the fleet is reached); stops what it started."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ok, why = can_run()
    if ok and not force_local:
        with SimFleet(workdir / "ssh", with_net(default_fleet(), free_net())) as fleet:
            note = (f"fleetaudit demo: started {len(fleet.hosts)} simulated Pis, each a real sshd on 127.x "
                    f"(inventory {fleet.inventory_path})")
            yield fleet.inventory_path, note
        return
    reason = "--local was given" if force_local else why
    note = (f"fleetaudit demo: cannot start the sshd fleet ({reason}); auditing the same Pis from their files "
            "through the local transport")
    yield _local_inventory(workdir / "local"), note
