"""Keep the last N complete runs in reports/ and point ``reports/latest`` at the newest complete one.

A run directory is complete when its ``manifest.json`` exists (it is written last, atomically) and says
``"complete": true``; a crashed run has none and never becomes ``latest``. Run ids sort by time:
``20261203T030000Z-1a2b``. Only directories named like run ids are ever pruned.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
from typing import List, Optional, Tuple

LATEST = "latest"
MANIFEST = "manifest.json"
DEFAULT_KEEP = 30
RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
PARTIAL_RE = re.compile(r"^\.(\d{8}T\d{6}Z-[0-9a-f]{4})\.partial$")   # a run being written (or crashed)


def new_run_id(now: Optional[dt.datetime] = None) -> str:
    """Return a new sortable run id for the given (default: current) time, in UTC."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def is_complete(run_dir: str) -> bool:
    """Return whether a run directory holds a manifest that says the run completed."""
    try:
        with open(os.path.join(run_dir, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("complete") is True


def _listdir(directory: str) -> List[str]:
    """Return a directory's entries, or [] when it cannot be read."""
    try:
        return os.listdir(directory)
    except OSError:
        return []


def run_ids(reports_dir: str) -> List[str]:
    """Return every run directory name in ``reports_dir``, oldest first."""
    names = _listdir(reports_dir)
    path = os.path.join
    return sorted(n for n in names if RUN_ID_RE.match(n) and not os.path.islink(path(reports_dir, n))
                  and os.path.isdir(path(reports_dir, n)))


def complete_runs(reports_dir: str) -> List[str]:
    """Return the complete runs, oldest first."""
    return [r for r in run_ids(reports_dir) if is_complete(os.path.join(reports_dir, r))]


def update_latest(reports_dir: str) -> Optional[str]:
    """Point ``reports/latest`` (a relative symlink, replaced atomically) at the newest complete run.

    Returns that run id; with no complete run a ``latest`` symlink is removed and None returned.
    """
    complete = complete_runs(reports_dir)
    link = os.path.join(reports_dir, LATEST)
    if not complete:
        if os.path.islink(link):
            os.unlink(link)
        return None
    newest = complete[-1]
    temporary = os.path.join(reports_dir, f".{LATEST}.{os.getpid()}.tmp")
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(newest, temporary)
    os.replace(temporary, link)
    return newest


def latest(reports_dir: str) -> Optional[str]:
    """Return the run id ``reports/latest`` points at, or None."""
    link = os.path.join(reports_dir, LATEST)
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def _to_prune(reports_dir: str, keep: int) -> Tuple[List[str], List[str]]:
    """Return (complete runs to remove, crashed runs to remove) for ``prune``."""
    complete = complete_runs(reports_dir)
    kept = complete[-keep:] if keep > 0 else []
    old_complete = [r for r in complete if r not in kept]
    oldest_kept = kept[0] if kept else None
    if oldest_kept is None:
        return old_complete, []
    crashed = [r for r in run_ids(reports_dir) if r not in complete and r < oldest_kept]
    matches = [PARTIAL_RE.match(n) for n in _listdir(reports_dir)]
    partial = [m.group(0) for m in matches if m is not None and m.group(1) < oldest_kept]
    return old_complete, crashed + partial


def prune(reports_dir: str, keep: int = DEFAULT_KEEP) -> List[str]:
    """Remove complete runs beyond the newest ``keep`` and crashed runs older than the oldest one kept.

    Crashed runs are run directories without a complete manifest, and ``.<run-id>.partial`` directories.
    Incomplete runs newer than that (possibly still running) are left alone. ``latest`` is updated afterwards.
    Returns the removed directory names, in time order.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    old_complete, crashed = _to_prune(reports_dir, keep)
    removed = sorted(old_complete + crashed, key=lambda n: n.lstrip("."))
    for run in removed:
        shutil.rmtree(os.path.join(reports_dir, run), ignore_errors=True)
    update_latest(reports_dir)
    return removed
