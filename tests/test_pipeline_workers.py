"""The analysis in worker processes: pipelined with collection, same report as in-process, small results.

A local fleet of four directory hosts (the incident Pi, its twin and two more healthy twins) in one group,
collected through the real engine. The Analyzer's pool runs with 2 workers whatever the machine's cores.
"""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from fleetaudit.checks import INTERNAL_ERROR_CHECK, CheckContext, Registry, run_check_map
from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.facts import HostFacts, ServiceState
from fleetaudit.inventory import load_inventory
from fleetaudit.model import Finding, FleetReport, Host, HostSnapshot, Inventory, RunSnapshot
from fleetaudit.parse import build_facts
from fleetaudit.pipeline import BULKY_FIELDS, Analyzer, analyze, analyze_host, peer_view
from fleetaudit.report.jsonout import to_dict
from fleetaudit.simfleet import SimHostSpec, build_tree, default_fleet

STAMP = "2020-09-15T06:00:00+00:00"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Inventory, Path]:
    """Four directory hosts in one group: the incident Pi and three healthy twins."""
    base = tmp_path_factory.mktemp("workers")
    incident, twin = default_fleet()[:2]
    specs: List[SimHostSpec] = [incident, twin,
                                SimHostSpec("twin3", "127.0.0.1", twin.kind, seed=31),
                                SimHostSpec("twin4", "127.0.0.1", twin.kind, seed=41)]
    lines = ["defaults:",
             "  logger: {db_path: /var/logger/logging.db, table: temperatures, timestamp_column: timestamp,"
             " interval_minutes: 5}", "hosts:"]
    for spec in specs:
        build_tree(spec, base / "trees" / spec.name)
        lines.append(f"  {spec.name}: {{path: trees/{spec.name}}}")
    lines += ["groups:", "  pis: [" + ", ".join(s.name for s in specs) + "]", ""]
    (base / "inventory.yaml").write_text("\n".join(lines), encoding="utf-8")
    return load_inventory(str(base / "inventory.yaml")), base


def _collect(fleet: Tuple[Inventory, Path], name: str, sink: object = None) -> RunSnapshot:
    inventory, base = fleet
    return collect(inventory, inventory.hosts, str(base / name), CollectOptions(jobs=4), None,
                   sink)  # type: ignore[arg-type]


def _json(report: FleetReport) -> Dict[str, object]:
    return to_dict(report)


def _serial(run: RunSnapshot, inventory: Inventory) -> FleetReport:
    """The reference: every host analysed in this process (one worker means no pool)."""
    with Analyzer(inventory, len(run.hosts), workers=1) as analyzer:
        return analyzer.report(run, generated_at=STAMP)


class RecordingAnalyzer(Analyzer):
    """An Analyzer that also records where each submitted snapshot's files were, and whether they existed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: List[Tuple[str, str, bool, str]] = []
        self.guard = threading.Lock()

    def submit(self, snap: HostSnapshot) -> None:
        with self.guard:
            thread = threading.current_thread().name
            self.seen.append((snap.host, snap.directory, os.path.isdir(snap.directory), thread))
        super().submit(snap)


def test_pipelined_run_gives_the_same_report_as_analysing_afterwards(fleet: Tuple[Inventory, Path]) -> None:
    inventory, _ = fleet
    analyzer = RecordingAnalyzer(inventory, len(inventory.hosts), workers=2)
    with analyzer:
        assert analyzer._pool is not None                            # the worker path, not the in-process one
        run = _collect(fleet, "pipelined", analyzer)
        report = analyzer.report(run, generated_at=STAMP)
    # every host was handed over during collection, from a collect thread, with its files in the partial run
    during = [s for s in analyzer.seen if s[3].startswith("collect")]
    assert sorted(h for h, _, _, _ in during) == sorted(h.name for h in inventory.hosts)
    for _host, directory, existed, _thread in during:
        assert existed and f".{run.run_id}.partial" in directory
    assert not os.path.exists(os.path.join(os.path.dirname(run.directory), f".{run.run_id}.partial"))
    assert _json(report) == _json(_serial(run, inventory))
    assert _json(report) == _json(analyze(run, inventory, generated_at=STAMP))
    assert "/.partial" not in str(_json(report)) and ".partial" not in repr(report)


def test_the_reference_report_finds_the_incident_and_the_odd_service(fleet: Tuple[Inventory, Path]) -> None:
    """Guards the comparison above against comparing two empty reports."""
    inventory, _ = fleet
    run = _collect(fleet, "reference")
    report = _serial(run, inventory)
    checks = {f.check for h in report.hosts if h.name == "rasp3bprs1" for f in h.findings}
    assert {"logger.burst", "services.unexpected", "vpn.unclean_restart"} <= checks
    assert any(i.host == "rasp3bprs1" for i in report.incidents)
    assert any(t.item.startswith("lirc") for t in report.comparison.twins)


def test_a_dead_worker_costs_only_a_retry_in_process(fleet: Tuple[Inventory, Path]) -> None:
    inventory, _ = fleet
    run = _collect(fleet, "dead-worker")
    with Analyzer(inventory, len(run.hosts), workers=2) as analyzer:
        assert analyzer._pool is not None
        for process in list(analyzer._pool._processes.values()):
            process.kill()
            process.join()
        report = analyzer.report(run, generated_at=STAMP)
    assert _json(report) == _json(_serial(run, inventory))


def test_what_a_worker_sends_back_is_small_and_holds_no_series(fleet: Tuple[Inventory, Path]) -> None:
    inventory, _ = fleet
    run = _collect(fleet, "sizes")
    snap, host = run.hosts[0], inventory.hosts[0]
    facts = build_facts(snap, host)
    analysis = analyze_host(snap, host)
    for name in BULKY_FIELDS:
        assert not getattr(analysis.view, name)
    assert facts.logger is not None and len(facts.logger.rows) > 4000 and analysis.temperatures
    full, sent = len(pickle.dumps(facts)), len(pickle.dumps(analysis))
    assert sent < full / 5, (sent, full)


def test_peer_view_keeps_what_peer_checks_and_twin_diffs_read(fleet: Tuple[Inventory, Path]) -> None:
    inventory, _ = fleet
    run = _collect(fleet, "view")
    facts = build_facts(run.hosts[0], inventory.hosts[0])
    view = peer_view(facts)
    kept = ("services", "packages", "package_actions", "timers", "cron_jobs", "filesystems", "log_mount", "system")
    for name in kept:
        assert getattr(view, name) == getattr(facts, name)
    assert view.logger is None and view.auth_events == () and facts.auth_events != ()


def test_a_peer_check_finding_with_a_time_becomes_a_check_error() -> None:
    registry = Registry()

    @registry.check("demo.peer_timed", description="A peer check that wrongly dates its finding.", peers=True)
    def timed(facts: HostFacts, ctx: CheckContext) -> List[Finding]:
        return [Finding(host=facts.host, check="demo.peer_timed", severity="warning", summary="x",
                        start="2020-09-01T05:04:00")]

    @registry.check("demo.local", description="A check that needs no peers.")
    def local(facts: HostFacts, ctx: CheckContext) -> List[Finding]:
        return [Finding(host=facts.host, check="demo.local", severity="info", summary="y", start="2020-09-01T05:04:00")]

    facts = HostFacts(host="pi", services=(ServiceState(name="lircd.service", enabled=True, running=True),))
    ctx = CheckContext(host=Host(name="pi"))
    peer = run_check_map(facts, ctx, registry, peers=True)
    assert list(peer) == ["demo.peer_timed"] and peer["demo.peer_timed"][0].check == INTERNAL_ERROR_CHECK
    assert list(run_check_map(facts, ctx, registry, peers=False)) == ["demo.local"]
    assert list(run_check_map(facts, ctx, registry)) == ["demo.peer_timed", "demo.local"]


def test_charts_drawn_by_the_workers_give_the_same_html(fleet: Tuple[Inventory, Path]) -> None:
    from fleetaudit.report.html import render_html

    inventory, _ = fleet
    run = _collect(fleet, "charts")
    report = _serial(run, inventory)
    with Analyzer(inventory, len(run.hosts), workers=2) as analyzer:
        assert analyzer._pool is not None
        html = render_html(report, analyzer.map)
    assert html == render_html(report) and html.count('class="chart"') == len(inventory.hosts)


def test_workers_die_with_a_killed_parent_and_ignore_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time\n"
            "from fleetaudit.pipeline import Analyzer\n"
            "a = Analyzer(None, 3, workers=2)\n"
            "print(' '.join(str(p) for p in a._pool._processes), flush=True)\n"
            "time.sleep(60)\n")
    repo = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=repo))
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    for pid in pids:
        os.kill(pid, signal.SIGINT)             # ignored: Ctrl-C is the parent's to handle
    time.sleep(0.5)
    assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a worker outlived its killed parent"


def _alive(pid: int) -> bool:
    """Return True while ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_a_host_whose_analysis_fails_gets_a_check_error_and_the_others_are_whole(
        fleet: Tuple[Inventory, Path], monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    import fleetaudit.pipeline as pipeline
    from fleetaudit.timeline import host_incidents as real

    inventory, _ = fleet
    run = _collect(fleet, f"broken-{workers}")
    reference = _serial(run, inventory)

    def broken(facts: HostFacts, findings: object, window: int) -> object:
        if facts.host == "twin3":
            raise RuntimeError("timeline exploded")
        return real(facts, findings, window)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "host_incidents", broken)   # before the Analyzer forks: workers inherit it
    with Analyzer(inventory, len(run.hosts), workers=workers) as analyzer:
        report = analyzer.report(run, generated_at=STAMP)
    hosts = {h.name: h for h in report.hosts}
    failed = hosts["twin3"].findings
    assert [f.check for f in failed] == [INTERNAL_ERROR_CHECK]
    assert failed[0].evidence["check"] == "analysis" and "timeline exploded" in failed[0].evidence["error"]
    for name, host in hosts.items():
        if name != "twin3":
            assert host == next(h for h in reference.hosts if h.name == name)
    assert report.exit_status == 1
