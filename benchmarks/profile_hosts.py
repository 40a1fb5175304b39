"""Time and profile the analysis of a few hosts of a stored fleet run, in this process (no process pool).

Usage (after a fleet benchmark; the fleet need not be running, the snapshot is on disk)::

    python3 benchmarks/profile_hosts.py RUN_DIR INVENTORY --hosts pi-01,pi-04 \
        --output benchmarks/profile_analyze_2hosts.txt

Prints the best wall and CPU time of 3 calls and writes a pyinstrument text profile of one more call.
The ``Analyzer`` gets one worker, so everything (parsing, checks, assembly) runs in this process and the
profile sees all of it; ``fleetaudit run`` does the same per host in its worker processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.analysis import _profile, best_pair  # noqa: E402
from benchmarks.measure import load_avg  # noqa: E402
from fleetaudit.inventory import load_inventory  # noqa: E402
from fleetaudit.model import FleetReport, Inventory, RunSnapshot  # noqa: E402
from fleetaudit.pipeline import Analyzer  # noqa: E402
from fleetaudit.snapshot import read_run  # noqa: E402


def in_process(run: RunSnapshot, inventory: Inventory) -> FleetReport:
    """Analyse the run with no worker process."""
    with Analyzer(inventory, len(run.hosts), workers=1) as analyzer:
        return analyzer.report(run)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Time the analysis of the chosen hosts (best of 3), profile one more call, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("inventory")
    ap.add_argument("--hosts", required=True, help="comma-separated host names from the run")
    ap.add_argument("--output", default=None, help="pyinstrument text profile (default: no profile)")
    args = ap.parse_args(argv)
    names = [h for h in args.hosts.split(",") if h]
    run = read_run(args.run_dir)
    run = dataclasses.replace(run, hosts=tuple(h for h in run.hosts if h.host in names))
    inventory = load_inventory(args.inventory)
    load = load_avg()
    wall, cpu = best_pair(3, lambda: in_process(run, inventory))
    if args.output:
        _profile(lambda: in_process(run, inventory), Path(args.output))
    print(json.dumps({"hosts": [h.host for h in run.hosts], "analyze_wall_s": round(wall, 3),
                      "analyze_cpu_s": round(cpu, 3), "load_avg_start": load, "profile": args.output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
