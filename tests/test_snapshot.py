"""Snapshot store tests: atomic layout, manifest round trip, path safety, permissions."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Optional, Tuple

import pytest

from fleetaudit.collect.frames import FrameReader
from fleetaudit.collect.hostrun import HostCollector
from fleetaudit.collect.sources import SourceSpec
from fleetaudit.model import HostSnapshot, SourceResult
from fleetaudit.snapshot import (
    MANIFEST,
    RunWriter,
    SnapshotError,
    list_runs,
    new_run_id,
    read_run,
    safe_name,
    safe_relpath,
)


class BytesStream:
    """A finished stream held in memory (what a host would have sent)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int, timeout: float) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    def finish(self, timeout: float) -> Tuple[Optional[int], bytes]:
        return 0, b""

    def abort(self) -> None:
        self.data = b""


def _one_host_run(tmp_path: Path) -> Tuple[RunWriter, HostSnapshot]:
    writer = RunWriter(str(tmp_path / "reports"), new_run_id(), "inventory.yaml")
    host = writer.host("pi1")
    handle = host.create("files/var/log/syslog")
    handle.write(b"line\n")
    digest = handle.commit()
    source = SourceResult("syslog", "ok", ("files/var/log/syslog",), 5, 40, digest, 0.1)
    snap = HostSnapshot("pi1", "ok", "", host.directory, (source,), "s", "f", 0.2, ("pis",))
    return writer, snap


def test_run_ids_are_sortable_and_shaped() -> None:
    run_id = new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", run_id)


def test_commit_publishes_and_reads_back(tmp_path: Path) -> None:
    writer, snap = _one_host_run(tmp_path)
    assert not os.path.exists(writer.final)
    run = writer.commit([snap])
    back = read_run(run.directory)
    assert back.hosts == (snap,) and back.complete and back.run_id == run.run_id
    assert not os.path.exists(writer.partial)
    assert list_runs(str(tmp_path / "reports")) == [(run.run_id, run.directory)]


def test_permissions_are_private(tmp_path: Path) -> None:
    writer, snap = _one_host_run(tmp_path)
    run = writer.commit([snap])
    assert stat.S_IMODE(os.stat(tmp_path / "reports").st_mode) == 0o700
    stored = Path(run.directory) / "pi1" / "files" / "var" / "log" / "syslog"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


def test_uncommitted_run_is_not_a_run(tmp_path: Path) -> None:
    writer, _ = _one_host_run(tmp_path)
    assert list_runs(str(tmp_path / "reports")) == []
    with pytest.raises(SnapshotError):
        read_run(writer.partial)


@pytest.mark.parametrize("change", [
    lambda m: m.update(complete=False),
    lambda m: m.update(schema="other/9"),
    lambda m: m["hosts"][0].update(status="great"),
    lambda m: m["hosts"][0]["sources"][0].update(bytes="five"),
])
def test_bad_manifests_raise(tmp_path: Path, change: object) -> None:
    writer, snap = _one_host_run(tmp_path)
    run = writer.commit([snap])
    path = Path(run.directory) / MANIFEST
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError):
        read_run(run.directory)


def test_unreadable_json_raises(tmp_path: Path) -> None:
    writer, snap = _one_host_run(tmp_path)
    run = writer.commit([snap])
    (Path(run.directory) / MANIFEST).write_text("{not json")
    with pytest.raises(SnapshotError):
        read_run(run.directory)


@pytest.mark.parametrize("rel", ["../x", "files/../../x", "/", "", "a/../../b"])
def test_unsafe_paths_are_refused(rel: str) -> None:
    with pytest.raises(SnapshotError):
        safe_relpath(rel)


def test_safe_names() -> None:
    assert safe_name("../etc") == "_etc" and safe_name("rasp3bprs1") == "rasp3bprs1"
    assert safe_name("a/b") == "a_b" and safe_name("..") == "_"


def test_a_remote_path_cannot_escape_the_host_dir(tmp_path: Path) -> None:
    writer = RunWriter(str(tmp_path / "reports"), new_run_id(), "inv")
    host = writer.host("pi1")
    spec = SourceSpec("syslog", "files", "log", paths=("/var/log/*",))
    body = b"evil"
    stream = (b"@FA\tS\tsyslog\n@FA\tF\tsyslog\tok\t4\t4\t1\t1\t/var/log/../../../../escape\n" + body
              + b"@FA\tF\tsyslog\tok\t4\t4\t2\t1\t/var/log/good\n" + body + b"@FA\tZ\tsyslog\n@FA\tEND\n")
    collector = HostCollector(host, (spec,), False)
    collector.consume(FrameReader(BytesStream(stream), deadline=1e12))
    (result,) = collector.results("")
    assert result.status == "error" and "not stored" in result.reason
    assert result.files == ("files/var/log/good",)
    assert not any(p.name == "escape" for p in tmp_path.rglob("*"))


def test_existing_symlink_directory_is_not_followed(tmp_path: Path) -> None:
    writer = RunWriter(str(tmp_path / "reports"), new_run_id(), "inv")
    host = writer.host("pi1")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(host.partial_dir, "files"))
    with pytest.raises(SnapshotError):
        host.create("files/etc/passwd")
    assert list(outside.iterdir()) == []
