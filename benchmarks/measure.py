"""Measure child processes: wall time, CPU time and peak RSS, through GNU time so nothing else is counted.

GNU ``time`` reports its child's ``wait4`` usage. Reading ``wait4`` directly here would not do: a child forked
from this (large) Python process starts with this process's pages, so its peak RSS would include ours.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Out = Union[int, IO[bytes], None]
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Usage:
    """What one child (with the grandchildren it waited for) used."""

    code: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


@dataclass
class Result:
    """One benchmark row: a tool at a fleet size, its resource use and bytes moved."""

    case: str
    hosts: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    bytes_moved: int
    note: str = ""
    extra: Dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, object]:
        """Return the row as plain data for results.json."""
        return asdict(self)


def run_child(argv: Sequence[str], stdout: Out = subprocess.DEVNULL, stderr: Out = subprocess.DEVNULL,
              env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None) -> Usage:
    """Run ``argv`` to completion and return its exit code, wall, CPU (user+sys) and peak RSS."""
    fd, stats = tempfile.mkstemp(prefix="fa-bench-time-")
    os.close(fd)
    t0 = time.monotonic()
    proc = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", stats, *argv], stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, env=dict(env) if env is not None else None, cwd=cwd)
    code = proc.wait()
    wall = time.monotonic() - t0
    with open(stats, encoding="ascii") as handle:
        last = handle.read().strip().splitlines()[-1].split()
    os.unlink(stats)
    return Usage(code, wall, float(last[1]) + float(last[2]), int(last[0]) / 1024.0)


def machine_cpu_s() -> float:
    """Return the CPU seconds every core of this machine has been busy since boot (``/proc/stat``).

    The difference around a measurement counts everything that ran meanwhile: the tool on the workstation side
    and the sshd, sh, tar and python3 it caused on the simulated hosts, which share this machine's cores.
    """
    with open("/proc/stat", encoding="ascii") as handle:
        fields = handle.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def load_avg() -> List[float]:
    """Return the 1, 5 and 15 minute load averages now (recorded at the start of every measurement)."""
    return [round(x, 2) for x in os.getloadavg()]


def run_pool(jobs: int, tasks: Sequence[Callable[[], Tuple[Usage, int]]]) -> Tuple[float, List[Tuple[Usage, int]]]:
    """Run the tasks in a pool of ``jobs`` threads; return the wall time and every (usage, bytes)."""
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda task: task(), tasks))
    return time.monotonic() - t0, results


def warm_cache(roots: Sequence[str]) -> int:
    """Read every regular file under ``roots`` once (page cache warm for every tool alike); return bytes read."""
    total = 0
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                total += _read_all(os.path.join(dirpath, name))
    return total


def _read_all(path: str) -> int:
    """Read one file to the end if it is a regular file; return its size read."""
    if os.path.islink(path) or not os.path.isfile(path):
        return 0
    n = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            n += len(block)
    return n
