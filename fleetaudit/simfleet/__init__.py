"""The simulated Raspberry Pi fleet: real sshd per host on 127.x.y.z, each in its own namespaces.

Used by tests/conftest.py fixtures and ``fleetaudit demo``::

    with SimFleet(workdir) as fleet:            # default_fleet(): incident Pi, twin, 4 fault hosts
        load_inventory(str(fleet.inventory_path))

``build_tree(spec, dest)`` builds one host's file tree in a plain directory without starting anything.
"""

from __future__ import annotations

from fleetaudit.simfleet.fleet import SimFleet, SimHost
from fleetaudit.simfleet.nsproc import SimFleetError
from fleetaudit.simfleet.probe import can_run
from fleetaudit.simfleet.spec import (
    KINDS,
    SimHostSpec,
    default_fleet,
    fleet_with_n_hosts,
    free_net,
    host_address,
    with_net,
)
from fleetaudit.simfleet.trees import BIND_PATHS, build_tree

__all__ = [
    "BIND_PATHS", "KINDS", "SimFleet", "SimFleetError", "SimHost", "SimHostSpec", "build_tree", "can_run",
    "default_fleet", "fleet_with_n_hosts", "free_net", "host_address", "with_net",
]
