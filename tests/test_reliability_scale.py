"""50 simulated hosts, 5 of them faulty in different ways: the 45 healthy reports are identical to a run
of the 45 alone (status, every source's status and files, every finding with its evidence)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Iterator, List

import pytest
from reliability.compare import hosts, load_report, views
from reliability.faults import signal_all, stop_host
from reliability.runner import fleet_args, run_cli

from fleetaudit.simfleet import SimFleet, SimHostSpec, can_run, fleet_with_n_hosts, free_net, host_address, with_net

pytestmark = [pytest.mark.fleet, pytest.mark.slow]
HEALTHY = 45
FAULTS = {"deadhost": "unreachable", "tarpit": "timeout", "badkey": "auth_failed", "changedkey": "hostkey_changed",
          "frozen": "timeout"}


def _specs() -> List[SimHostSpec]:
    """pi01..pi45 (every 9th an incident Pi) plus the four fault kinds and a healthy Pi that will be frozen."""
    specs = fleet_with_n_hosts(HEALTHY + 1, incident_every=9)
    frozen = specs.pop()
    specs.append(SimHostSpec("frozen", frozen.address, "healthy", seed=99))
    kinds = ("deadhost", "tarpit", "badkey", "changedkey")
    specs += [SimHostSpec(kind, host_address("127.0.80", HEALTHY + 1 + i), kind) for i, kind in enumerate(kinds)]
    return specs


@pytest.fixture(scope="module")
def big_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    """Yield the started 50-host fleet with 'frozen' SIGSTOPped (it accepts TCP and never answers)."""
    ok, why = can_run()
    if not ok:
        pytest.skip(f"simulated fleet unavailable: {why}")
    specs = with_net(_specs(), free_net(hosts=HEALTHY + 6))
    with SimFleet(tmp_path_factory.mktemp("bigfleet"), specs, ready_timeout=60.0) as fleet:
        stopped = stop_host(fleet.hosts["frozen"])
        try:
            yield fleet
        finally:
            signal_all(stopped, signal.SIGCONT)


def test_healthy_reports_unchanged_by_faulty_hosts(big_fleet: SimFleet, tmp_path: Path) -> None:
    """Run all 50, then only the 45: each healthy host's report is the same; each faulty host has its status."""
    names = [f"pi{i:02d}" for i in range(1, HEALTHY + 1)]
    common = ("--jobs", "8", "--deadline", "15")
    mixed = run_cli(fleet_args(big_fleet.inventory_path, tmp_path / "all", *common), tmp_path / "home")
    alone = run_cli(fleet_args(big_fleet.inventory_path, tmp_path / "healthy", *common, "--hosts", ",".join(names)),
                    tmp_path / "home")
    assert mixed.returncode == 2, mixed.stderr
    assert alone.returncode == 1, alone.stderr
    report_all, report_healthy = load_report(tmp_path / "all"), load_report(tmp_path / "healthy")
    statuses = {n: h["status"] for n, h in hosts(report_all).items()}
    assert {n: statuses[n] for n in FAULTS} == FAULTS
    assert {statuses[n] for n in names} == {"ok"}
    assert len(report_all["hosts"]) == HEALTHY + len(FAULTS) and len(report_healthy["hosts"]) == HEALTHY
    assert views(report_all, names) == views(report_healthy, names)
