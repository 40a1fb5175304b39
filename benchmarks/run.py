"""Benchmark fleetaudit against plain OpenSSH + tar and an Ansible playbook on a simulated Pi fleet.

One command from a clean checkout (as root: the simulated fleet needs namespaces and sshd)::

    python3 benchmarks/run.py --hosts 10,50 [--big-log] [--analysis] [--ansible-max 10]

Prints the table and writes benchmarks/results.json. Installs nothing; says what is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import Result  # noqa: E402

HERE = Path(__file__).resolve().parent


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", default="10,50", help="fleet sizes, comma separated (default 10,50)")
    ap.add_argument("--jobs", type=int, default=8, help="parallelism for every tool (default 8)")
    ap.add_argument("--ansible-max", type=int, default=10,
                    help="largest fleet Ansible runs on; bigger sizes are extrapolated linearly (0: never)")
    ap.add_argument("--full-run-max", type=int, default=10**6,
                    help="largest fleet `fleetaudit run` is measured on (`fleetaudit collect` is always measured)")
    ap.add_argument("--years", type=int, default=1,
                    help="years of 5-minute logger rows per host (default 1; 0 keeps the simfleet's small trees)")
    ap.add_argument("--big-log", action="store_true", help="also run the 2 GB log host case")
    ap.add_argument("--big-log-bytes", type=int, default=2 << 30, help="size of the big log (default 2 GiB)")
    ap.add_argument("--analysis", action="store_true", help="also time analysis alone (1, 2, 5, 10 host-years)")
    ap.add_argument("--analysis-years", default="1,2,5,10")
    ap.add_argument("--analysis-syslog-mb", type=int, default=100)
    ap.add_argument("--profile", action="store_true", help="profile the analysis with pyinstrument")
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new one under /tmp)")
    ap.add_argument("--output", default=str(HERE / "results.json"), help="results JSON (default benchmarks/)")
    return ap.parse_args(argv)


def missing_tools(want_ansible: bool, profile: bool) -> List[str]:
    """Return what this run needs and does not find, each with how to get it."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the simulated fleet mounts and unshares): run with sudo")
    for tool, how in (("unshare", "apt-get install util-linux"), ("sshd", "apt-get install openssh-server"),
                      ("ssh", "apt-get install openssh-client"), ("tar", "apt-get install tar"),
                      ("/usr/bin/time", "apt-get install time")):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            missing.append(f"{tool}: {how}")
    if want_ansible and not shutil.which("ansible-playbook"):
        missing.append("ansible-playbook: pip install ansible-core (or --ansible-max 0)")
    if profile and not _importable("pyinstrument"):
        missing.append("pyinstrument: pip install pyinstrument (or drop --profile)")
    if not _importable("tabulate"):
        missing.append("tabulate: pip install tabulate")
    return missing


def _importable(name: str) -> bool:
    """Return True when a module can be imported."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _version(argv: List[str]) -> str:
    """Return the first line a version command prints (stdout or stderr)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unavailable ({exc})"
    return (proc.stdout.strip() or proc.stderr.strip()).splitlines()[0] if (proc.stdout or proc.stderr) else ""


def machine() -> Dict[str, object]:
    """Describe this machine: CPU model and cores, RAM, kernel, Python, OpenSSH, paramiko, ansible-core."""
    import paramiko

    cpu = next((line.split(":", 1)[1].strip() for line in _version_lines(["lscpu"]) if line.startswith("Model name")),
               platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem / 2**30, 1), "kernel": platform.release(),
            "python": platform.python_version(), "openssh": _version(["ssh", "-V"]),
            "paramiko": paramiko.__version__, "ansible": _version(["ansible-playbook", "--version"])}


def _version_lines(argv: List[str]) -> List[str]:
    """Return the lines a command prints, or none."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []


def stoppable() -> None:
    """Make SIGINT and SIGTERM unwind (so the simulated fleet is stopped), even when started in the background."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def used_workdir(workdir: Optional[str]) -> str:
    """Return why ``workdir`` cannot be used (it holds files), or "".

    A workdir left by an earlier run holds its reports and history: the "first" runs would then be second
    runs (incremental, "0 new" findings) and the numbers would be wrong without any error.
    """
    if workdir is None:
        return ""
    path = Path(workdir)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        return (f"--workdir {workdir} is not an empty directory: an earlier run's snapshots and history there "
                "would turn the first runs into incremental ones; give a new or empty directory")
    return ""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the chosen benchmarks, print the table and write the JSON."""
    args = parse_args(argv)
    stoppable()
    sizes = [int(x) for x in args.hosts.split(",") if x.strip()]
    stale = used_workdir(args.workdir)
    if stale:
        print(f"benchmarks/run.py: {stale}", file=sys.stderr)
        return 2
    missing = missing_tools(args.ansible_max > 0, args.profile)
    if missing:
        print("benchmarks/run.py: missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 3
    from benchmarks import cases
    from benchmarks.report import print_tables, write_json

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="fa-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out: Dict[str, object] = {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                              "command": "python3 benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None
                                                                                 else argv),
                              "machine": machine(), "jobs": args.jobs, "workdir": str(workdir)}
    rows: List[Result] = []
    if sizes:
        out["fleet"] = cases.fleet_case(workdir, sizes, args.jobs, args.ansible_max, args.years, rows,
                                        args.full_run_max)
        out["rows"] = [r.as_dict() for r in rows]
        write_json(out, Path(args.output))
    if args.big_log:
        out["big_log"] = cases.big_log_case(workdir, args.big_log_bytes, args.jobs)
    if args.analysis:
        years = [int(y) for y in args.analysis_years.split(",") if y.strip()]
        out["analysis"] = cases.analysis_case(workdir, years, args.analysis_syslog_mb, args.profile)
    out["rows"] = [r.as_dict() for r in rows]
    print_tables(out)
    write_json(out, Path(args.output))
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
