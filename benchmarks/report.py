"""Print the benchmark tables (tabulate) and write results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping

from tabulate import tabulate


def print_tables(out: Mapping[str, Any]) -> None:
    """Print the fleet table with ratios, then the big-log and analysis results."""
    rows: List[Dict[str, Any]] = list(out.get("rows", []))
    if rows:
        table = [[r["case"], r["hosts"], f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f}", _machine(r),
                  f"{r['peak_rss_mb']:.1f}", f"{r['bytes_moved'] / 2**20:.1f}", r["note"]] for r in rows]
        print(tabulate(table, headers=["case", "hosts", "wall s", "CPU s", "machine CPU s", "peak RSS MB",
                                       "MiB moved", "note"]))
        fleet = out.get("fleet", {})
        for n, ratio in fleet.get("ratios", {}).items():
            print(f"N={n}: " + "; ".join(f"{k} wall {v['wall']} cpu {v['cpu']} bytes {v['bytes']}"
                                        for k, v in ratio.items()))
    if "big_log" in out:
        print_big_log(out["big_log"])
    if "analysis" in out:
        print_analysis(out["analysis"])


def print_big_log(big: Mapping[str, Any]) -> None:
    """Print the big-log case."""
    row, find, src = big["row"], big["findings"], big["syslog_source"]
    print(f"\nbig log: /var/log tmpfs of {big['log_partition_bytes'] / 2**20:.0f} MiB filled with "
          f"{big['truth']['lircd_lines']:,} complete lircd lines "
          f"({big['truth']['lircd_records']:,} records, the last cut by ENOSPC "
          f"counted) {big['note']}")
    print(tabulate([[row["wall_s"], row["cpu_s"], row["peak_rss_mb"], row["bytes_moved"], src.get("status"),
                     src.get("bytes_moved"), find["noisy_program"]["reported_lines"],
                     find["noisy_program"]["true_records"],
                     find["noisy_program"]["exact"],
                     find["log_partition_full"]["found"]]],
                   headers=["wall s", "CPU s", "peak RSS MB", "bytes moved", "syslog", "syslog bytes moved",
                            "lircd lines reported", "true records", "exact", "partition full found"]))


def print_analysis(ana: Mapping[str, Any]) -> None:
    """Print the analysis-alone points."""
    table = [[p["years"], p["logger_rows"], f"{p['snapshot_bytes'] / 2**20:.1f}", p["build_facts_s (1 run)"],
              p["analyze_s"], p.get("analyze_cpu_s")] for p in ana.get("points", [])]
    print(f"\nanalysis alone (one host, {ana['syslog_mb']} MB syslog, best of 3):")
    print(tabulate(table, headers=["host-years", "logger rows", "snapshot MiB", "build_facts s (1 run)",
                                        "analyze wall s", "analyze CPU s"]))


def _machine(row: Mapping[str, Any]) -> str:
    """Return a row's machine-wide CPU (workstation and simulated hosts), or '-' when not measured."""
    value = row.get("extra", {}).get("machine_cpu_s")
    return "-" if value is None else f"{value:.2f}"


def write_json(out: Mapping[str, Any], path: Path) -> None:
    """Write the results as indented JSON."""
    path.write_text(json.dumps(out, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def markdown_rows(out: Mapping[str, Any]) -> str:
    """Return the fleet rows as a Markdown table (for BENCHMARKS.md)."""
    lines = ["| case | hosts | wall s | CPU s | machine CPU s | peak RSS MB | MiB moved | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in out.get("rows", []):
        lines.append(f"| {r['case']} | {r['hosts']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {_machine(r)} | "
                     f"{r['peak_rss_mb']:.1f} | "
                     f"{r['bytes_moved'] / 2**20:.2f} | {r['note']} |")
    return "\n".join(lines)
