"""Time fleetaudit's analysis of one collected host in-process: parse (build_facts), checks, whole analyze()."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from benchmarks.measure import load_avg
from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.inventory import load_inventory
from fleetaudit.parse import build_facts
from fleetaudit.pipeline import analyze


def best_of(n: int, func: Callable[[], object]) -> float:
    """Return the best wall time of ``n`` calls."""
    return best_pair(n, func)[0]


def best_pair(n: int, func: Callable[[], object]) -> Tuple[float, float]:
    """Return the best wall time and the best CPU time (this process) of ``n`` calls."""
    wall = cpu = float("inf")
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def time_analysis(inventory_path: Path, reports: Path, profile_to: Optional[Path] = None) -> Dict[str, object]:
    """Collect the host locally once, then time build_facts and analyze() (best of 3); profile when asked."""
    inventory = load_inventory(str(inventory_path))
    reports.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run = collect(inventory, inventory.hosts, str(reports), CollectOptions(jobs=1))
    collect_s = time.perf_counter() - t0
    snap, host = run.hosts[0], inventory.hosts[0]
    load = load_avg()
    facts_s = best_of(1, lambda: build_facts(snap, host))
    analyze_s, analyze_cpu = best_pair(3, lambda: analyze(run, inventory))
    facts = build_facts(snap, host)
    rows = len(facts.logger.rows) if facts.logger is not None else 0
    point: Dict[str, object] = {"collect_local_s": round(collect_s, 3), "build_facts_s (1 run)": round(facts_s, 3),
                                "analyze_s": round(analyze_s, 3),
                                "analyze_cpu_s": round(analyze_cpu, 3), "logger_rows": rows,
                                "snapshot_bytes": sum(s.bytes for s in snap.sources), "status": snap.status,
                                "load_avg_start": load}
    if profile_to is not None:
        point["profile"] = str(profile_to)
        _profile(lambda: analyze(run, inventory), profile_to)
    return point


def _profile(func: Callable[[], object], path: Path) -> None:
    """Profile one call with pyinstrument and write the text report."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    func()
    profiler.stop()
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
