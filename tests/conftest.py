"""Shared fixtures: the simulated Raspberry Pi fleet (real sshd per host, see fleetaudit/simfleet)."""

from __future__ import annotations

import os
from typing import Callable, Iterator, List, Optional, Sequence

import pytest

from fleetaudit.simfleet import SimFleet, SimHostSpec, can_run, default_fleet, free_net, with_net

FleetFactory = Callable[..., SimFleet]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fleet`` marker (tests that need root, unshare and sshd)."""
    config.addinivalue_line("markers", "fleet: needs root, unshare and sshd for the simulated fleet")


def _require_fleet() -> None:
    """Skip the test with the reason when the simulated fleet cannot run here."""
    ok, why = can_run()
    if not ok and os.environ.get("CI") == "true":
        pytest.fail(f"simulated fleet unavailable in CI (.ci/run runs as root with sshd installed): {why}")
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")


def _net_for(specs: Sequence[SimHostSpec]) -> str:
    """Return a free 127.x.y net large enough for the specs' last octets."""
    highest = max(int(s.address.rsplit(".", 1)[1]) for s in specs)
    port = specs[0].port if specs else 22
    return free_net(port=port, hosts=max(highest - 10, 1))


@pytest.fixture(scope="session")
def sim_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    """Yield the started default fleet (incident Pi, twin, deadhost, badkey, changedkey, tarpit) for the session."""
    _require_fleet()
    specs = default_fleet()
    fleet = SimFleet(tmp_path_factory.mktemp("simfleet"), with_net(specs, _net_for(specs)))
    with fleet:
        yield fleet


@pytest.fixture
def make_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetFactory]:
    """Yield a factory ``make_fleet(specs=None)`` that starts a custom fleet on a free net; all stop afterwards."""
    fleets: List[SimFleet] = []

    def factory(specs: Optional[Sequence[SimHostSpec]] = None) -> SimFleet:
        _require_fleet()
        chosen = list(specs) if specs is not None else default_fleet()
        fleet = SimFleet(tmp_path_factory.mktemp("simfleet"), with_net(chosen, _net_for(chosen)))
        fleets.append(fleet)
        fleet.start()
        return fleet

    yield factory
    for fleet in fleets:
        fleet.stop()
