"""Tests for retention: keep the last N complete runs, reports/latest on the newest complete run only."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from fleetaudit.retention import RUN_ID_RE, latest, new_run_id, prune, update_latest


def make_run(reports: Path, run_id: str, complete: bool = True, manifest: bool = True) -> Path:
    """Create a run directory, with a manifest saying whether it completed (or none: a crash)."""
    run = reports / run_id
    (run / "rasp3bprs1").mkdir(parents=True)
    (run / "rasp3bprs1" / "data").write_text("x")
    if manifest:
        (run / "manifest.json").write_text(json.dumps({"run_id": run_id, "complete": complete}))
    return run


def rid(day: int) -> str:
    """Return a run id for a night in September 2020."""
    return f"202009{day:02d}T030000Z-00{day:02d}"


def test_run_ids_sort_by_time() -> None:
    """New run ids match the pattern and sort chronologically."""
    early = new_run_id(dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.timezone.utc))
    later = new_run_id(dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    assert early.startswith("20261203T030000Z-") and RUN_ID_RE.match(early) and RUN_ID_RE.match(new_run_id())
    assert early < later and later.startswith("20261204T070000Z-")


def test_latest_skips_crashed_and_incomplete_runs(tmp_path: Path) -> None:
    """A run without a manifest (crashed) or with complete=false never becomes latest."""
    make_run(tmp_path, rid(1))
    make_run(tmp_path, rid(2))
    assert update_latest(str(tmp_path)) == rid(2)
    make_run(tmp_path, rid(3), manifest=False)
    make_run(tmp_path, rid(4), complete=False)
    (tmp_path / rid(5)).mkdir()
    (tmp_path / rid(5) / "manifest.json").write_text("{not json")
    assert update_latest(str(tmp_path)) == rid(2)
    assert os.readlink(tmp_path / "latest") == rid(2) and latest(str(tmp_path)) == rid(2)
    assert (tmp_path / "latest" / "manifest.json").exists()


def test_latest_removed_when_no_complete_run(tmp_path: Path) -> None:
    """With no complete run, there is no latest."""
    make_run(tmp_path, rid(1))
    update_latest(str(tmp_path))
    (tmp_path / rid(1) / "manifest.json").unlink()
    assert update_latest(str(tmp_path)) is None and not os.path.lexists(tmp_path / "latest")


def test_prune_keeps_last_n_complete(tmp_path: Path) -> None:
    """Older complete runs and crashed runs older than the oldest kept go; newer incomplete runs and
    directories that are not runs stay."""
    for day in range(1, 8):
        make_run(tmp_path, rid(day))
    make_run(tmp_path, rid(2).replace("-0002", "-ffff"), manifest=False)   # old crash
    make_run(tmp_path, rid(9), manifest=False)                              # possibly still running
    (tmp_path / f".{rid(3)}.partial").mkdir()                                # crashed while being written
    (tmp_path / f".{rid(8)}.partial").mkdir()                                # being written now
    (tmp_path / "notes").mkdir()
    removed = prune(str(tmp_path), keep=3)
    assert removed == [rid(1), rid(2), rid(2).replace("-0002", "-ffff"), rid(3), f".{rid(3)}.partial", rid(4)]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([rid(5), rid(6), rid(7), f".{rid(8)}.partial", rid(9), "latest", "notes"])
    assert latest(str(tmp_path)) == rid(7)


def test_prune_default_keeps_thirty(tmp_path: Path) -> None:
    """The default keeps 30 complete runs."""
    for day in range(1, 31):
        make_run(tmp_path, rid(day))
    make_run(tmp_path, "20201001T030000Z-aaaa")
    assert prune(str(tmp_path)) == [rid(1)]
    with pytest.raises(ValueError):
        prune(str(tmp_path), keep=0)
