"""Scale cases: one host with a 2 GB syslog of lircd errors, and analysis alone over 1..10 host-years."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from benchmarks import trees
from benchmarks.fleetbench import fleetaudit_run
from fleetaudit.simfleet import SimFleet, SimHostSpec, build_tree, free_net, host_address, story
from fleetaudit.simfleet.runtime import inventory_host, write_yaml
from fleetaudit.simfleet.varlog import ROTATE_1

GIB = 1 << 30
MIB = 1 << 20
HERE = Path(__file__).resolve().parent


def free_bytes(path: Path) -> int:
    """Return the smaller of the disk space free at ``path`` and the RAM available (the log is a tmpfs)."""
    st = os.statvfs(path)
    mem = 0
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                mem = int(line.split()[1]) * 1024
    return min(st.f_bavail * st.f_frsize, mem)


def big_log_case(workdir: Path, size: int, jobs: int) -> Dict[str, object]:
    """Fill one host's /var/log (a tmpfs of ``size``) with lircd errors to ENOSPC and audit it."""
    note = ""
    if free_bytes(workdir) < 5 * GIB:
        size, note = 512 * MIB, "less than 5 GiB free (disk or RAM): the big log is 512 MiB instead of 2 GiB"
    base = workdir / "biglog"
    spec = SimHostSpec("biglog", host_address(free_net(hosts=1), 0), "healthy", log_partition_bytes=size, seed=3)
    fleet = SimFleet(base / "fleet", [spec])
    try:
        fleet.start()
        host = fleet.hosts["biglog"]
        t0 = time.monotonic()
        truth = trees.fill_with_flood(host.tree / "var/log/syslog", "biglog", story.PERIOD_END, size)
        fill_s = time.monotonic() - t0
        truth.update(df_truth(host.tree / "var/log"))
        row, run = fleetaudit_run("c: fleetaudit run (2 GB log)", fleet.inventory_path, base / "reports", jobs,
                                  base / "fa.log")
        return {"log_partition_bytes": size, "note": note, "fill_s": round(fill_s, 1), "truth": truth,
                "row": row.as_dict(), "syslog_source": syslog_source(run), "findings": exactness(run, truth)}
    finally:
        fleet.stop()


def df_truth(logdir: Path) -> Dict[str, int]:
    """Return the log partition's real size and free bytes."""
    st = os.statvfs(logdir)
    return {"fs_size": st.f_blocks * st.f_frsize, "fs_avail": st.f_bavail * st.f_frsize,
            "syslog_bytes": (logdir / "syslog").stat().st_size}


def syslog_source(run: Any) -> Dict[str, object]:
    """Return the manifest entry of the host's syslog source."""
    if run is None:
        return {}
    for src in run.hosts[0].sources:
        if src.name == "syslog":
            return {"status": src.status, "bytes": src.bytes, "bytes_moved": src.bytes_moved,
                    "truncated": src.truncated, "reason": src.reason}
    return {}


def report_findings(run_dir: str) -> List[Dict[str, Any]]:
    """Return every finding dict in the run's report.json."""
    path = Path(run_dir) / "report.json"
    if not path.exists():
        return []
    return [d for d in _dicts(json.loads(path.read_text(encoding="utf-8"))) if "check" in d and "evidence" in d]


def _dicts(value: Any) -> Iterator[Dict[str, Any]]:
    """Yield every dict nested in a JSON value."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


def exactness(run: Any, truth: Dict[str, int]) -> Dict[str, object]:
    """Compare the noisy-program and full-partition findings with what was written."""
    findings = report_findings(run.directory) if run is not None else []
    noisy = [f for f in findings if f["check"] == "logs.noisy_program" and "lircd" in str(f["evidence"].get("program"))]
    full = [f for f in findings if f["check"] == "disk.log_partition_full"]
    lines = noisy[0]["evidence"].get("lines") if noisy else None
    records = truth["lircd_records"]
    return {"noisy_program": {"found": bool(noisy), "reported_lines": lines, "true_lines": truth["lircd_lines"],
                              "true_records": records, "exact": lines == records,
                              "summary": noisy[0]["summary"] if noisy else ""},
            "log_partition_full": {"found": bool(full), "summary": full[0]["summary"] if full else "",
                                   "evidence": full[0]["evidence"] if full else {}}}


def analysis_tree(base: Path, syslog_mb: int) -> tuple[SimHostSpec, Path]:
    """Build one healthy Pi's tree with a month of SoftEther, a grown auth.log and ``syslog_mb`` MB of syslog."""
    spec = SimHostSpec("pi-analysis", "127.0.0.1", "healthy", seed=5)
    tree = base / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    build_tree(spec, tree)
    trees.grow_softether(spec, tree)
    trees.grow_auth(spec, tree)
    days = (story.PERIOD_END - ROTATE_1).days
    trees.grow_syslog(spec, tree, per_day=int(syslog_mb * MIB / 86 / days))
    return spec, tree


def local_inventory(spec: SimHostSpec, tree: Path, path: Path) -> Path:
    """Write an inventory auditing the tree through the local transport (no log cap in the way)."""
    entry = inventory_host(spec, path.parent / "none", path.parent / "none")
    for key in ("address", "port", "user", "identity_file", "known_hosts", "sudo"):
        entry.pop(key, None)
    entry.update({"path": str(tree), "log_cap_bytes": 1024 * MIB})
    write_yaml(path, {"hosts": {spec.name: entry}}, "# benchmark: analysis alone\n")
    return path


def analysis_case(workdir: Path, years: Sequence[int], syslog_mb: int, profile: bool) -> Dict[str, object]:
    """Time analysis alone (best of 3) of one host with ``syslog_mb`` MB of syslog and 1..10 years of rows."""
    from benchmarks.analysis import time_analysis

    base = workdir / "analysis"
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    spec, tree = analysis_tree(base, syslog_mb)
    out: Dict[str, object] = {"tree_build_s": round(time.monotonic() - t0, 1), "syslog_mb": syslog_mb}
    inventory = local_inventory(spec, tree, base / "inventory.yaml")
    points: List[Dict[str, object]] = []
    for y in years:
        trees.grow_logger(spec, tree, y, workdir / "cache")
        point = time_analysis(inventory, base / f"reports-{y}y",
                              profile_to=_profile_path(profile, y, years, syslog_mb))
        point["years"] = y
        print(f"  analysis {y:2d} host-year(s): {point}", flush=True)
        points.append(point)
    out["points"] = points
    return out


def _profile_path(profile: bool, y: int, years: Sequence[int], syslog_mb: int = 100) -> Optional[Path]:
    """Return where to write the profile of the first point, when profiling (the syslog size named unless 100 MB)."""
    if not profile or y != years[0]:
        return None
    suffix = "" if syslog_mb == 100 else f"_syslog{syslog_mb}mb"
    return HERE / f"profile_analysis_{y}y{suffix}.txt"
