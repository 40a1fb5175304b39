"""Record everything a simulated host could have written: its tree, its overlay's upper layer and its /run.

A simulated host's ``/`` is an overlay (lower = the machine's ``/``, upper = a tmpfs private to the host's
mount namespace): any write outside the bind-mounted tree paths — ``/tmp``, ``/root``, ``/home``, ``/etc`` —
lands in the upper layer, so listing that layer lists every such write (the machine's own ``/tmp`` below it
changes as other programs run and says nothing about the host). ``/run`` and ``/root`` (the login's home)
are separate tmpfs'es of the host.
The upper layer and ``/run`` are only visible inside the host's mount namespace: they are walked there
with ``nsenter``. The tree (every bind-mounted path: /var/log, /var/logger, /etc/cron.d, ...) is hashed
from the machine. Access times are left out (reading a file may update them); everything else is kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Dict, List, Tuple

from fleetaudit.simfleet import SimFleet, SimHost

Entry = Tuple[str, int, int, int, str]   # (type, mode, size, mtime_ns, sha256 | link target)
State = Dict[str, Entry]

WALKER = r"""
import hashlib, json, os, stat, sys

def entry(path):
    st = os.lstat(path)
    kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else \
        "f" if stat.S_ISREG(st.st_mode) else "o"
    extra = os.readlink(path) if kind == "l" else ""
    if kind == "f":
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        extra = digest.hexdigest()
    if kind == "o":
        extra = str(st.st_rdev)
    return [kind, st.st_mode, st.st_size if kind != "d" else 0, st.st_mtime_ns, extra]

out = {}
for label, top in json.loads(sys.argv[1]).items():
    if not os.path.lexists(top):
        out[label + ":"] = ["absent", 0, 0, 0, ""]
        continue
    out[label + ":."] = entry(top)
    for root, dirs, files in os.walk(top):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            out[label + ":" + os.path.relpath(path, top)] = entry(path)
json.dump(out, sys.stdout)
"""


def _walk(tops: Dict[str, str], ns_pid: int = 0) -> State:
    """Walk labelled directories (inside the mount namespace of ``ns_pid`` when given) and return their entries."""
    argv = [sys.executable, "-c", WALKER, json.dumps(tops)]
    if ns_pid:
        argv = ["nsenter", "-t", str(ns_pid), "-m", "--"] + argv
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    return {k: (str(v[0]), int(v[1]), int(v[2]), int(v[3]), str(v[4])) for k, v in json.loads(proc.stdout).items()}


def host_state(host: SimHost) -> State:
    """Return every path of one simulated host with its type, mode, size, mtime and content hash."""
    state = _walk({"tree": str(host.tree)})
    if host.init_pid:
        root = host.state / "root"
        state.update(_walk({"upper": str(host.state / "ovl" / "upper"), "run": str(root / "run"),
                            "home": str(root / "root")}, host.init_pid))
    return state


def fleet_state(fleet: SimFleet) -> Dict[str, State]:
    """Return ``host_state`` of every simulated host that has a tree."""
    return {name: host_state(host) for name, host in fleet.hosts.items() if host.spec.has_tree}


def differences(before: State, after: State) -> List[str]:
    """Return one line per path that appeared, vanished or changed."""
    lines = [f"new: {p} {after[p]}" for p in sorted(set(after) - set(before))]
    lines += [f"gone: {p} {before[p]}" for p in sorted(set(before) - set(after))]
    lines += [f"changed: {p} {before[p]} -> {after[p]}" for p in sorted(set(before) & set(after))
              if before[p] != after[p]]
    return lines


def file_count(state: State) -> int:
    """Return how many regular files a state lists."""
    return sum(1 for entry in state.values() if entry[0] == "f")
