"""Incremental collection: only new bytes cross the wire, yet every snapshot holds the complete content."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import pytest
from test_collect import _fleet_options, make_tree

from fleetaudit.collect.engine import CollectOptions, collect
from fleetaudit.model import Host, HostSnapshot, Inventory, RunSnapshot
from fleetaudit.parse import build_facts
from fleetaudit.simfleet import SimFleet, SimHostSpec
from fleetaudit.snapshot import read_run

CAP = 1024 * 1024


class Runs:
    """Successive collect runs of the same hosts into one reports directory (run ids in time order)."""

    def __init__(self, base: Path, hosts: Sequence[Host], inventory_path: str = "") -> None:
        self.base = base
        self.hosts = list(hosts)
        self.inventory = Inventory(inventory_path or str(base / "inventory.yaml"), tuple(hosts), {})
        self.count = 0

    def run(self, full: bool = False, reports: str = "reports", options: CollectOptions | None = None) -> RunSnapshot:
        """Collect once more and return the run as read back from disk."""
        self.count += 1
        chosen = options or CollectOptions()
        opts = CollectOptions(jobs=chosen.jobs, connect=chosen.connect, host_deadline=chosen.host_deadline,
                              full=full, run_id=f"20200901T{self.count:06d}Z-abcd")
        run = collect(self.inventory, self.hosts, str(self.base / reports), opts)
        return read_run(run.directory)


def moved(run: RunSnapshot, source: str = "") -> int:
    """Return the bytes moved by a run (or by one source over all hosts)."""
    return sum(s.bytes_moved for h in run.hosts for s in h.sources if not source or s.name == source)


def host(run: RunSnapshot, name: str = "pi") -> HostSnapshot:
    """Return one host of a run."""
    return next(h for h in run.hosts if h.host == name)


def stored(run: RunSnapshot, rel: str, name: str = "pi") -> bytes:
    """Return a stored file's bytes."""
    return (Path(host(run, name).directory) / rel).read_bytes()


def source_hashes(snap: HostSnapshot) -> Dict[str, str]:
    """Return the sha256 of every files source of a host."""
    return {s.name: s.sha256 for s in snap.sources if s.files and not s.files[0].startswith("cmd/")}


def local(root: Path) -> Host:
    """Return a directory host for a tree."""
    return Host(name="pi", path=str(root), log_cap_bytes=CAP)


# --- (1) an unchanged host: a few header bytes, the same content, hard links that survive pruning -------------

def test_unchanged_host_moves_under_5_percent_and_keeps_everything(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    runs = Runs(tmp_path, [local(tree)])
    first, second = runs.run(), runs.run()
    assert moved(second) <= 0.05 * moved(first), (moved(first), moved(second))
    manifest = json.loads((Path(second.directory) / "manifest.json").read_text())
    assert manifest["bytes_moved"] == moved(second) == sum(h["bytes_moved"] for h in manifest["hosts"])
    assert source_hashes(host(second)) == source_hashes(host(first))
    assert host(second).status == "ok"
    syslog, before = host(second).source("syslog"), host(first).source("syslog")
    assert syslog is not None and before is not None and syslog.bytes_moved < 400 and syslog.bytes == before.bytes
    shutil.rmtree(first.directory)                     # retention prunes the first run: the links stay
    assert stored(second, "files/var/log/syslog") == (tree / "var/log/syslog").read_bytes()
    third = runs.run()                                 # and the next run builds on the second
    assert source_hashes(host(third)) == source_hashes(host(second))


# --- (2) rotation: every line once, pulled once ---------------------------------------------------------------

def _lines(tag: str, n: int) -> List[str]:
    return [f"Sep  1 04:{i % 60:02d}:00 pi lircd[42]: {tag} line {i}\n" for i in range(n)]


def _append(path: Path, lines: List[str]) -> int:
    with open(path, "a") as handle:
        handle.write("".join(lines))
    return len("".join(lines))


def _snapshot_lines(snap: HostSnapshot) -> List[str]:
    syslog = snap.source("syslog")
    assert syslog is not None
    found: List[str] = []
    for rel in syslog.files:
        data = (Path(snap.directory) / rel).read_bytes()
        found += (gzip.decompress(data) if rel.endswith(".gz") else data).decode().splitlines(keepends=True)
    return found


def test_a_rotated_log_is_pulled_once_with_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    log = root / "var/log/syslog"
    written = _lines("a", 3000)
    _append(log, written)
    runs = Runs(tmp_path, [local(root)])
    first = runs.run()
    batch = _lines("b", 500)
    new = _append(log, batch)                                  # grows, then logrotate: mv + a new file
    os.rename(log, root / "var/log/syslog.1")
    batch2 = _lines("c", 300)
    new += _append(log, batch2)
    written += batch + batch2
    second = runs.run()
    assert moved(second, "syslog") <= new + 600, (new, moved(second, "syslog"))
    batch3, batch4 = _lines("d", 200), _lines("e", 100)
    new = _append(log, batch3)                                 # next night: .1 compressed, syslog rotated
    rotated = root / "var/log/syslog.1"
    (root / "var/log/syslog.2.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    os.rename(log, rotated)
    new += _append(log, batch4)
    written += batch3 + batch4
    third = runs.run()
    assert moved(third, "syslog") <= new + 800, (new, moved(third, "syslog"))
    assert moved(first, "syslog") >= len("".join(written[:3000]))
    for run in (second, third):
        final = _snapshot_lines(host(run))
        expected = written[:len(final)] if run is second else written
        assert sorted(final) == sorted(expected) and len(set(final)) == len(final)
    assert stored(third, "files/var/log/syslog.1") == rotated.read_bytes()


# --- (3) truncation and replacement pull the whole file -------------------------------------------------------

@pytest.mark.parametrize("change", ["truncated", "rewritten", "replaced"])
def test_truncated_or_replaced_logs_are_pulled_whole(tmp_path: Path, change: str) -> None:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    log = root / "var/log/syslog"
    _append(log, _lines("old", 2000))
    runs = Runs(tmp_path, [local(root)])
    runs.run()
    if change == "truncated":                  # copytruncate, then a few new lines
        log.write_text("".join(_lines("new", 10)))
    elif change == "rewritten":                # same inode, longer, different prefix
        log.write_text("".join(_lines("xyz", 2500)))
    else:                                      # a new file renamed over the old one
        tmp = root / "var/log/syslog.tmp"
        tmp.write_text("".join(_lines("rep", 2100)))
        os.rename(tmp, log)
    second = runs.run()
    assert stored(second, "files/var/log/syslog") == log.read_bytes()
    assert moved(second, "syslog") >= log.stat().st_size


def test_an_over_cap_log_stays_the_newest_cap_bytes_as_it_grows(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    log = root / "var/log/syslog"
    _append(log, _lines("x", 20000))
    cap = 64 * 1024
    runs = Runs(tmp_path, [Host(name="pi", path=str(root), log_cap_bytes=cap)])
    runs.run()
    added = _append(log, _lines("y", 100))
    second = runs.run()
    assert stored(second, "files/var/log/syslog") == log.read_bytes()[-cap:]
    syslog = host(second).source("syslog")
    assert syslog is not None and syslog.status == "truncated" and syslog.bytes_moved <= added + 300


# --- (4) the logger DB: new rows only, or the whole DB when earlier rows changed ------------------------------

def _rows(db: Path) -> List[tuple]:  # type: ignore[type-arg]
    """Return the rows in rowid order (a WAL DB's full copy is rebuilt from SQL, so rowids may be renumbered)."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT * FROM temperatures ORDER BY rowid").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_logger_db_new_rows_only_and_full_copy_when_history_changed(tmp_path: Path, journal: str) -> None:
    tree = make_tree(tmp_path / "root")
    db = tree / "var/logger/logging.db"
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.executemany("INSERT INTO temperatures VALUES (?, ?)", [(f"2020-09-0{d} {h:02d}:00", 55.5)
                                                               for d in range(2, 9) for h in range(24)])
    con.commit()
    runs = Runs(tmp_path, [local(tree)])
    first = runs.run()
    con.executemany("INSERT INTO temperatures VALUES (?, ?)", [("2020-09-14 04:39", 80.0 + i) for i in range(11)])
    con.commit()
    second = runs.run()
    snap_db = Path(host(second).directory) / "logger/logger.db"
    assert _rows(snap_db) == _rows(db) and len(_rows(db)) == 60 + 168 + 11
    assert moved(second, "logger_db") < 0.2 * moved(first, "logger_db") and moved(second, "logger_db") < 2000
    con.execute("UPDATE temperatures SET temperature = 99 WHERE rowid = 3")   # history rewritten: full copy
    con.commit()
    third = runs.run()
    assert _rows(Path(host(third).directory) / "logger/logger.db") == _rows(db)
    assert moved(third, "logger_db") > 0.5 * moved(first, "logger_db")
    con.execute("DELETE FROM temperatures WHERE rowid = 5")                   # rows deleted: full copy
    con.commit()
    con.close()
    fourth = runs.run()
    assert _rows(Path(host(fourth).directory) / "logger/logger.db") == _rows(db)
    assert moved(fourth, "logger_db") > 0.5 * moved(first, "logger_db")


def test_logger_db_old_rows_outside_the_hashed_tail(tmp_path: Path) -> None:
    """Rows older than the hashed newest 4096-8191 rowids: deletes, number and text-length edits give a full copy."""
    tree = make_tree(tmp_path / "root")
    db = tree / "var/logger/logging.db"
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO temperatures VALUES (?, ?)", [(f"2020-{i:06d}", 40.0 + i % 7) for i in range(20000)])
    con.commit()
    runs = Runs(tmp_path, [local(tree)])
    first = runs.run()
    edits = ["INSERT INTO temperatures VALUES ('2020-x', 1.5)",                   # new rows only, base moves
             "UPDATE temperatures SET temperature = temperature + 0.5 WHERE rowid = 3",
             "UPDATE temperatures SET timestamp = timestamp || 'x' WHERE rowid = 4",
             "DELETE FROM temperatures WHERE rowid = 5"]
    for number, edit in enumerate(edits):
        con.executescript("BEGIN;" + (edit + ";") * (5000 if number == 0 else 1) + "COMMIT;")
        run = runs.run()
        assert _rows(Path(host(run).directory) / "logger/logger.db") == _rows(db)
        full = moved(run, "logger_db") > 0.5 * moved(first, "logger_db")
        assert full == (number > 0), (edit, moved(run, "logger_db"))
    con.close()


# --- (5) package list and crontabs: only when changed --------------------------------------------------------

def test_package_list_pulled_only_when_changed(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    status = tree / "var/lib/dpkg/status"
    status.write_text("".join(f"Package: p{i}\nStatus: install ok installed\nVersion: 1.{i}\n\n" for i in range(2000)))
    runs = Runs(tmp_path, [local(tree)])
    first = runs.run()
    second = runs.run()
    assert moved(second, "dpkg_status") < 300 <= moved(first, "dpkg_status")
    _append(status, ["Package: lirc\nStatus: install ok installed\nVersion: 0.10.1\n\n"])
    (tree / "etc/cron.d/logtemp").write_text("*/5 * * * * pi /usr/local/bin/logtemp.sh\n")
    third = runs.run()
    assert moved(third, "dpkg_status") >= status.stat().st_size
    assert stored(third, "files/var/lib/dpkg/status") == status.read_bytes()
    assert stored(third, "files/etc/cron.d/logtemp") == (tree / "etc/cron.d/logtemp").read_bytes()


# --- (6) --full ----------------------------------------------------------------------------------------------

def test_full_moves_everything_again(tmp_path: Path) -> None:
    runs = Runs(tmp_path, [local(make_tree(tmp_path / "root"))])
    first = runs.run()
    runs.run()
    again = runs.run(full=True)
    assert moved(again) >= 0.95 * moved(first)
    assert source_hashes(host(again)) == source_hashes(host(first))


# --- (7) facts of an incremental snapshot equal those of a full one ------------------------------------------

def _key_facts(snap: HostSnapshot, h: Host) -> Dict[str, object]:
    facts = build_facts(snap, h)
    logger = facts.logger
    return {"lines": facts.log_total_lines, "bytes": facts.log_total_bytes, "volumes": facts.volumes,
            "packages": facts.packages, "cron_jobs": facts.cron_jobs, "vpn": facts.vpn_events,
            "auth": facts.auth_events, "coverage": facts.coverage, "mounts": tuple(f.mount for f in facts.filesystems),
            "logger": None if logger is None else (len(logger.rows), logger.rows[:3], logger.rows[-3:], logger.error)}


def test_facts_of_incremental_and_full_snapshots_are_equal(tmp_path: Path) -> None:
    from fleetaudit.simfleet import default_fleet
    from fleetaudit.simfleet.trees import build_tree

    spec = default_fleet()[0]
    tree = tmp_path / "tree"
    build_tree(spec, tree)
    h = Host(name="pi", path=str(tree))
    runs = Runs(tmp_path, [h])
    runs.run()
    log = tree / "var/log/syslog"
    os.rename(log, tree / "var/log/syslog.1") if not (tree / "var/log/syslog.1").exists() else None
    _append(log, _lines("after", 50))
    con = sqlite3.connect(tree / "var/logger/logging.db")
    con.execute("INSERT INTO temperatures (timestamp, temperature) VALUES ('2020-09-30 00:00', 51.0)")
    con.commit()
    con.close()
    incremental = host(runs.run())
    full = host(runs.run(full=True, reports="full"))
    assert incremental.source("syslog") is not None
    assert _key_facts(incremental, h) == _key_facts(full, h)
    assert moved(read_run(os.path.dirname(incremental.directory))) < 0.2 * moved(
        read_run(os.path.dirname(full.directory)))


# --- the simulated fleet over SSH ----------------------------------------------------------------------------

def _fleet_runs(fleet: SimFleet, tmp_path: Path, names: Sequence[str]) -> Runs:
    from fleetaudit.inventory import load_inventory

    inventory = load_inventory(str(fleet.inventory_path))
    return Runs(tmp_path, [h for h in inventory.hosts if h.name in names], str(fleet.inventory_path))


@pytest.mark.fleet
def test_sim_fleet_second_run_moves_at_most_5_percent(tmp_path: Path, sim_fleet: SimFleet) -> None:
    runs = _fleet_runs(sim_fleet, tmp_path, ("rasp3bprs1", "rasp3bprs2"))
    options = _fleet_options(sim_fleet, tmp_path, host_deadline=60.0)
    first = runs.run(options=options)
    second = runs.run(options=options)
    assert all(h.status in ("ok", "partial") for h in first.hosts + second.hosts)
    ratio = moved(second) / moved(first)
    top = sorted(((s.bytes_moved, h.host, s.name) for h in second.hosts for s in h.sources), reverse=True)[:8]
    print(f"sim fleet: first run {moved(first)} B, second {moved(second)} B, ratio {ratio:.4f}; biggest: {top}")
    assert ratio <= 0.05
    for name in ("rasp3bprs1", "rasp3bprs2"):
        assert source_hashes(host(second, name)) == source_hashes(host(first, name))


@pytest.mark.fleet
def test_sim_host_rotation_and_new_rows_over_ssh(tmp_path: Path, make_fleet: Callable[..., SimFleet]) -> None:
    from fleetaudit.simfleet import default_fleet

    spec: SimHostSpec = default_fleet()[1]
    fleet = make_fleet([spec])
    tree = fleet.hosts[spec.name].tree
    runs = _fleet_runs(fleet, tmp_path, (spec.name,))
    options = _fleet_options(fleet, tmp_path, host_deadline=60.0)
    first = runs.run(options=options)
    log = tree / "var/log/syslog"
    if (tree / "var/log/syslog.1").exists():
        (tree / "var/log/syslog.2.gz").write_bytes(gzip.compress((tree / "var/log/syslog.1").read_bytes()))
        (tree / "var/log/syslog.1").unlink()
    os.rename(log, tree / "var/log/syslog.1")
    new = _append(log, _lines("ssh", 40))
    con = sqlite3.connect(tree / "var/logger/logging.db")
    con.execute("INSERT INTO temperatures (timestamp, temperature) VALUES ('2020-09-30 00:00', 51.0)")
    con.commit()
    con.close()
    second = runs.run(options=options)
    snap = host(second, spec.name)
    assert snap.status in ("ok", "partial"), snap.reason
    assert moved(second, "syslog") <= new + 1000
    for rel in ("files/var/log/syslog", "files/var/log/syslog.1"):
        assert stored(second, rel, spec.name) == (tree / rel[len("files/"):]).read_bytes()
    assert _rows(Path(snap.directory) / "logger/logger.db") == _rows(tree / "var/logger/logging.db")
    assert moved(second, "logger_db") < 0.1 * moved(first, "logger_db")
