"""Start a simulated fleet of realistic Pis and measure fleetaudit, OpenSSH + tar and Ansible on it."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from benchmarks import trees
from benchmarks.measure import Result, load_avg, run_child
from fleetaudit.inventory import load_inventory
from fleetaudit.model import Host, RunSnapshot
from fleetaudit.simfleet import SimFleet, SimHostSpec, fleet_with_n_hosts, free_net, with_net
from fleetaudit.snapshot import MANIFEST, read_run

INCIDENT_LOG_BYTES = 8 * 1024 * 1024      # the incident Pis' full /var/log: a few MB of (mostly lircd) syslog
CLI = "from fleetaudit.cli import main; main()"


def fleet_specs(n: int) -> List[SimHostSpec]:
    """Return ``n`` Pis (every 4th the incident Pi, with an 8 MB full log tmpfs) on a free 127.x.y net."""
    specs = [replace(s, log_partition_bytes=INCIDENT_LOG_BYTES) if s.kind == "incident" else s
             for s in fleet_with_n_hosts(n)]
    return with_net(specs, free_net(hosts=n))


def start_fleet(workdir: Path, n: int, years: int = 1) -> Tuple[SimFleet, Dict[str, object]]:
    """Start ``n`` hosts and grow their trees (``years`` 0: keep the simfleet's small trees); return the fleet
    and timings/sizes. The caller must stop the fleet."""
    fleet = SimFleet(workdir / "fleet", fleet_specs(n), ready_timeout=max(30.0, n * 0.5))
    t0 = time.monotonic()
    fleet.start()
    started = time.monotonic() - t0
    sizes: Dict[str, int] = {}
    for host in fleet.hosts.values() if years > 0 else ():
        sizes = trees.grow_host(host.spec, host.tree, workdir / "cache", years)
    return fleet, {"start_s": round(started, 1), "grow_s": round(time.monotonic() - t0 - started, 1),
                   "last_host_sizes": sizes}


def subset_inventory(fleet: SimFleet, names: Sequence[str], path: Path) -> Path:
    """Write an inventory holding only ``names`` (same defaults and groups) and return its path."""
    data = yaml.safe_load(fleet.inventory_path.read_text(encoding="utf-8"))
    keep = set(names)
    data["hosts"] = {k: v for k, v in data["hosts"].items() if k in keep}
    data["groups"] = {g: [h for h in members if h in keep] for g, members in data.get("groups", {}).items()}
    data["groups"] = {g: m for g, m in data["groups"].items() if m}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def inventory_hosts(path: Path) -> Tuple[Host, ...]:
    """Return the hosts of an inventory file."""
    return load_inventory(str(path)).hosts


def run_dirs(reports: Path) -> List[str]:
    """Return the complete run directories under ``reports``, oldest first."""
    if not reports.exists():
        return []
    return sorted(str(p) for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and (p / MANIFEST).exists())


def moved_bytes(run: RunSnapshot) -> int:
    """Return the bytes that crossed the wire in a run (the manifest's bytes_moved, all hosts and sources)."""
    return sum(s.bytes_moved for h in run.hosts for s in h.sources)


def statuses(run: RunSnapshot) -> Dict[str, int]:
    """Return how many hosts ended in each status."""
    out: Dict[str, int] = {}
    for h in run.hosts:
        out[h.status] = out.get(h.status, 0) + 1
    return out


def fleetaudit_run(case: str, inventory: Path, reports: Path, jobs: int, log: Path,
                   extra_args: Sequence[str] = (), command: str = "run") -> Tuple[Result, Optional[RunSnapshot]]:
    """Run ``fleetaudit run`` (or ``collect``) in a child process and return its row and the run it wrote."""
    before = set(run_dirs(reports))
    argv = [sys.executable, "-c", CLI, command, "-i", str(inventory), "--reports", str(reports), "--jobs", str(jobs),
            *extra_args]
    load = load_avg()
    with open(log, "ab") as out:
        usage = run_child(argv, stdout=out, stderr=out, env=dict(os.environ, TERM="dumb"))
    new = [d for d in run_dirs(reports) if d not in before]
    run = read_run(new[-1]) if new else None
    hosts = len(run.hosts) if run else 0
    note = f"exit {usage.code}" + ("" if run else ", no run directory written")
    extra: Dict[str, object] = {"statuses": statuses(run) if run else {}, "run_dir": new[-1] if new else "",
                                "load_avg_start": load}
    if run:
        extra["collect_wall_s"] = round(_collect_wall(run), 2)
    return Result(case, hosts, usage.wall_s, usage.cpu_s, usage.peak_rss_mb, moved_bytes(run) if run else 0,
                  note=note, extra=extra), run


def _collect_wall(run: RunSnapshot) -> float:
    """Return the collect phase's wall time from the manifest (first host start to last host end)."""
    import datetime as dt

    starts = [dt.datetime.fromisoformat(h.started) for h in run.hosts if h.started]
    ends = [dt.datetime.fromisoformat(h.finished) for h in run.hosts if h.finished]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
