"""``ps -e -o pid=,user:32=,lstart=,comm=,args=`` output into ``Process``es."""

from __future__ import annotations

import re
from typing import List, Tuple

from fleetaudit.facts import Process

# pid, user, lstart (5 tokens: Thu Dec  3 17:02:53 2026), comm (no spaces in practice), args
PS_RE = re.compile(r"\s*(?P<pid>\d+)\s+(?P<user>\S+)\s+"
                   r"(?P<lstart>\w{3}\s+\w{3}\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}\s+\d{4})"
                   r"\s+(?P<comm>\S+)\s*(?P<args>.*)$")


def parse_ps(text: str) -> Tuple[Tuple[Process, ...], int]:
    """Return the processes and the number of lines that did not parse."""
    found: List[Process] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        m = PS_RE.match(line)
        if m is None:
            bad += 1
            continue
        found.append(Process(int(m.group("pid")), m.group("user"), m.group("comm"), m.group("args").rstrip(),
                             " ".join(m.group("lstart").split())))
    return tuple(found), bad
