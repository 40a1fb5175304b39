"""Run the real ``fleetaudit`` CLI in a subprocess, and edit a simulated fleet's inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
CLI = "from fleetaudit.cli import main; main()"


def cli_env(home: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Return an environment with its own HOME (no ~/.ssh, no agent) and fleetaudit importable."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT), "TERM": "dumb"})
    env.update(extra or {})
    return env


def cli_argv(*args: str) -> List[str]:
    """Return the argv that runs ``fleetaudit ARGS``."""
    return [sys.executable, "-c", CLI, *args]


def run_cli(args: List[str], home: Path, extra_env: Optional[Dict[str, str]] = None,
            timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    """Run ``fleetaudit ARGS`` to completion and return the finished process."""
    return subprocess.run(cli_argv(*args), capture_output=True, text=True, env=cli_env(home, extra_env),
                          timeout=timeout, cwd=str(home))


def fleet_args(inventory: Path, reports: Path, *extra: str) -> List[str]:
    """Return ``run`` arguments with short timeouts suited to the simulated fleet."""
    return ["run", "-i", str(inventory), "--reports", str(reports), "--connect-timeout", "3",
            "--deadline", "25", "--format", "json", *extra]


def edit_inventory(src: Path, dest: Path, edit: Callable[[Dict[str, Any]], None]) -> Path:
    """Write a copy of an inventory after ``edit`` changed its parsed YAML in place."""
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    edit(data)
    dest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


def only_hosts(names: List[str]) -> Callable[[Dict[str, Any]], None]:
    """Return an edit that keeps only the named hosts (and drops the groups section)."""
    def edit(data: Dict[str, Any]) -> None:
        data["hosts"] = {n: h for n, h in data["hosts"].items() if n in names}
        data.pop("groups", None)
    return edit


def run_dirs(reports: Path) -> List[Path]:
    """Return the run directories under a reports directory (not 'latest', not hidden)."""
    if not reports.is_dir():
        return []
    return sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
