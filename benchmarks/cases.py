"""The fleet case: for each fleet size, (a) OpenSSH + tar, (b) Ansible, (c) fleetaudit first run, (d) second run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmarks.baselines import ansible_run, tar_floor
from benchmarks.fleetbench import fleetaudit_run, inventory_hosts, start_fleet, subset_inventory
from benchmarks.measure import Result, machine_cpu_s, warm_cache
from benchmarks.scale import analysis_case, big_log_case

__all__ = ["analysis_case", "big_log_case", "fleet_case", "ratios"]


def fleet_case(workdir: Path, sizes: Sequence[int], jobs: int, ansible_max: int, years: int,
               rows: List[Result], full_run_max: int = 10**6) -> Dict[str, object]:
    """Start the largest fleet once, measure every size on its first N hosts, stop the fleet."""
    fleet, info = start_fleet(workdir, max(sizes), years)
    print(f"fleet of {max(sizes)} hosts up in {info['start_s']} s, trees grown in {info['grow_s']} s", flush=True)
    per_size: Dict[str, object] = {}
    try:
        info["tree_bytes_read_to_warm_cache"] = warm_cache([str(h.tree) for h in fleet.hosts.values()])
        names = list(fleet.hosts)
        ansible: Optional[Result] = None
        for n in sorted(sizes):
            size_rows, ansible = one_size(fleet, names[:n], workdir / f"n{n}", jobs, ansible_max, ansible,
                                          n <= full_run_max)
            rows += size_rows
            per_size[str(n)] = ratios(size_rows)
    finally:
        fleet.stop()
    return {"setup": info, "ratios": per_size}


def one_size(fleet: object, names: Sequence[str], workdir: Path, jobs: int, ansible_max: int,
             last_ansible: Optional[Result], full_run: bool = True) -> tuple[List[Result], Optional[Result]]:
    """Measure the cases on the named hosts; Ansible above ``ansible_max`` is extrapolated linearly.

    ``fleetaudit collect`` (e, f: the transfer alone) is always measured; ``fleetaudit run`` (c, d: collect plus
    analysis and reports) only when ``full_run``.
    """
    from fleetaudit.simfleet import SimFleet

    assert isinstance(fleet, SimFleet)
    workdir.mkdir(parents=True, exist_ok=True)
    inventory = subset_inventory(fleet, names, workdir / "inventory.yaml")
    hosts = inventory_hosts(inventory)
    key, known = str(fleet.client_key_path), str(fleet.known_hosts_path)
    n = len(names)
    out = [_say(_machine(tar_floor, hosts, key, known, jobs))]
    for label, command, reports in (("fleetaudit collect", "collect", "collect-reports"),
                                    ("fleetaudit run", "run", "reports")):
        if command == "run" and not full_run:
            continue
        tags = ("e", "f") if command == "collect" else ("c", "d")
        for tag, which in zip(tags, ("first", "second")):
            row = _machine(_fleetaudit_row, f"{tag}: {label} ({which})", inventory, workdir / reports, jobs,
                           workdir / "fa.log", command=command)
            out.append(_say(row))
    if n <= ansible_max:
        last_ansible = _say(_machine(ansible_run, hosts, key, known, jobs, workdir / "ansible"))
        out.append(last_ansible)
    elif last_ansible is not None:
        out.append(_say(extrapolate(last_ansible, n)))
    return out, last_ansible


def _machine(measure: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Run one measurement and add ``machine_cpu_s``: the CPU every core spent meanwhile, hosts included."""
    before = machine_cpu_s()
    row = measure(*args, **kwargs)
    row.extra["machine_cpu_s"] = round(machine_cpu_s() - before, 2)
    return row


def _fleetaudit_row(*args: Any, **kwargs: Any) -> Result:
    """Return the row of one ``fleetaudit run``/``collect`` measurement."""
    return fleetaudit_run(*args, **kwargs)[0]


def extrapolate(measured: Result, n: int) -> Result:
    """Return an Ansible row for ``n`` hosts scaled linearly from a measured smaller fleet."""
    k = n / measured.hosts
    return Result("b: Ansible playbook", n, measured.wall_s * k, measured.cpu_s * k, measured.peak_rss_mb,
                  int(measured.bytes_moved * k), note=f"EXTRAPOLATED linearly from {measured.hosts} hosts",
                  extra={"extrapolated_from": measured.hosts})


def _say(row: Result) -> Result:
    """Print a row as soon as it is measured (long runs show progress) and return it."""
    print(f"  {row.case:28s} N={row.hosts:<4d} wall {row.wall_s:8.2f} s  cpu {row.cpu_s:8.2f} s  "
          f"machine cpu {row.extra.get('machine_cpu_s', '-')} s  "
          f"rss {row.peak_rss_mb:7.1f} MB  bytes {row.bytes_moved:>12,d}  load {row.extra.get('load_avg_start')}  "
          f"{row.note}", flush=True)
    return row


def ratios(rows: Sequence[Result]) -> Dict[str, object]:
    """Return c/a, b/c, d/c, e/a, b/e, f/e (wall, CPU, bytes, machine-wide CPU) for one fleet size."""
    by = {r.case[0]: r for r in rows}
    out: Dict[str, object] = {}
    pairs = (("c/a", "c", "a"), ("b/c", "b", "c"), ("d/c", "d", "c"), ("e/a", "e", "a"), ("b/e", "b", "e"),
             ("f/e", "f", "e"))
    for name, num, den in pairs:
        if num in by and den in by:
            ratio = {k: _ratio(getattr(by[num], attr), getattr(by[den], attr))
                     for k, attr in (("wall", "wall_s"), ("cpu", "cpu_s"), ("bytes", "bytes_moved"))}
            machine = by[num].extra.get("machine_cpu_s"), by[den].extra.get("machine_cpu_s")
            if isinstance(machine[0], float) and isinstance(machine[1], float):
                ratio["machine_cpu"] = _ratio(machine[0], machine[1])
            out[name] = ratio
    return out


def _ratio(num: float, den: float) -> Optional[float]:
    """Return num/den rounded, or None when den is zero."""
    return round(num / den, 3) if den else None
