"""Time the phases of ``fleetaudit run`` on a fresh simulated fleet, in this process.

Usage (as root, like benchmarks/run.py)::

    python3 benchmarks/phases.py --hosts 50 [--runs 2] [--years 1]

It starts ``--hosts`` simulated Pis (grown as in benchmarks/run.py), then does what ``fleetaudit run`` does,
step by step, ``--runs`` times into one reports directory (the first run, then second runs on the unchanged
fleet), and prints one JSON line per run: the collect phase (with the analysis of each host starting in a
worker as soon as that host is collected), the wait for the last analyses plus the peer checks and the
assembly, the history marks, the reports (charts drawn by the workers, then the HTML), the history record,
and this process's CPU. The fleet is stopped at the end, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fleetbench import start_fleet  # noqa: E402
from benchmarks.measure import load_avg  # noqa: E402
from fleetaudit.pipeline import Analyzer  # noqa: E402
from fleetaudit.workflow import RunArgs, do_collect, load, mark_new, record_run, select, write_reports  # noqa: E402


def one_run(inventory_path: str, reports: str, jobs: int) -> Dict[str, object]:
    """Do the steps of ``fleetaudit run`` once and return each step's wall time."""
    marks = [("start", time.perf_counter())]
    cpu = time.process_time()
    args = RunArgs.from_options({"inventory": inventory_path, "reports": reports, "jobs": jobs})
    inventory = load(inventory_path)
    hosts = select(inventory, None)
    with Analyzer(inventory, len(hosts)) as analyzer:
        marks.append(("workers_started", time.perf_counter()))
        run = do_collect(args, inventory, hosts, analyzer)
        marks.append(("collect_and_analysis", time.perf_counter()))
        report = analyzer.report(run, "warning")
        marks.append(("last_analyses_peer_checks_assembly", time.perf_counter()))
        report = mark_new(report, reports)
        marks.append(("history_marks", time.perf_counter()))
        write_reports(report, run.directory, analyzer.map)
        marks.append(("reports", time.perf_counter()))
        record_run(report, run, reports)
        marks.append(("history_record", time.perf_counter()))
    marks.append(("workers_stopped", time.perf_counter()))
    out: Dict[str, object] = {name: round(t - marks[i][1], 2) for i, (name, t) in enumerate(marks[1:])}
    out["total_s"] = round(marks[-1][1] - marks[0][1], 2)
    out["main_process_cpu_s"] = round(time.process_time() - cpu, 2)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Start the fleet, time ``--runs`` runs, print one JSON line per run, stop the fleet."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new one under /tmp)")
    args = ap.parse_args(argv)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="fa-phases-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet, info = start_fleet(work, args.hosts, args.years)
    try:
        print(json.dumps({"hosts": args.hosts, **info}), flush=True)
        for n in range(args.runs):
            row = {"run": n + 1, "load_avg_start": load_avg(), **one_run(str(fleet.inventory_path),
                                                                          str(work / "reports"), args.jobs)}
            print(json.dumps(row), flush=True)
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
