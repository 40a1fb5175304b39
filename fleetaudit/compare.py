"""The fleet view: the hosts x checks matrix, and twin diffs between hosts of one inventory group.

Odd-one-out rule for a twin difference:
  * three or more hosts: the hosts whose value differs from the strict majority value; when no value
    holds a strict plurality (e.g. three different versions) nobody is singled out (empty tuple);
  * two hosts: when one side lacks the item ("absent"), the host that HAS it is the odd one (it carries
    something extra, like ``lirc`` on the incident Pi); when both have it with different values (versions,
    kernel, partition use), both are listed, since two hosts cannot outvote each other.
A host joins a kind's comparison only when it has data of that kind (no dpkg status -> no package diff).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

from fleetaudit.facts import HostFacts
from fleetaudit.model import Comparison, Finding, HostSnapshot, TwinDiff, severity_rank
from fleetaudit.units import human_bytes

AUDITED = ("ok", "partial")
ABSENT = "absent"
KIND_ORDER = ("package", "service_enabled", "service_running", "timer", "crontab", "kernel", "os", "log_partition")

Items = Dict[str, str]


def _worst(findings: Sequence[Finding], check: str) -> str:
    ranks = [severity_rank(f.severity) for f in findings if f.check == check and f.status != "resolved"]
    return ("info", "warning", "critical")[max(ranks)] if ranks else ""


def matrix(hosts: Sequence[HostSnapshot], findings: Mapping[str, Sequence[Finding]]
           ) -> Tuple[Tuple[str, ...], Dict[str, Dict[str, str]]]:
    """Return the checks with a finding anywhere and check -> host -> worst severity (or the host's status)."""
    checks = tuple(sorted({f.check for fs in findings.values() for f in fs if f.status != "resolved"}))
    cells: Dict[str, Dict[str, str]] = {}
    for check in checks:
        row = cells.setdefault(check, {})
        for snap in hosts:
            audited = snap.status in AUDITED
            row[snap.host] = _worst(findings.get(snap.host, ()), check) if audited else snap.status
    return checks, cells


def _packages(facts: HostFacts) -> Items:
    return {p.name: p.version if "installed" in p.status else f"{p.version} ({p.status})" for p in facts.packages}


def _flag(value: object, yes: str, no: str) -> str:
    return "unknown" if value is None else (yes if value else no)


def _enabled(facts: HostFacts) -> Items:
    return {s.name: _flag(s.enabled, "enabled", "disabled") for s in facts.services}


def _running(facts: HostFacts) -> Items:
    return {s.name: _flag(s.running, "running", "stopped") for s in facts.services}


def _timers(facts: HostFacts) -> Items:
    out: Items = {}
    for t in facts.timers:
        delay = f" +{t.randomized_delay_s}s" if t.randomized_delay_s else ""
        out[t.name] = f"{'; '.join(t.on_calendar)}{delay} ({_flag(t.enabled, 'enabled', 'disabled')})"
    return out


def _crontab(facts: HostFacts) -> Items:
    return {f"{j.user} {j.schedule} {j.command}".strip(): "present" for j in facts.cron_jobs}


def _single(name: str, value: str) -> Items:
    return {name: value} if value else {}


def _log_partition(facts: HostFacts) -> Items:
    mount = facts.log_mount or "/var/log"
    for fs in facts.filesystems:
        if fs.mount == mount:
            return {f"{mount} size": human_bytes(fs.size_bytes, binary=True), f"{mount} use": f"{fs.use_percent:g}%"}
    return {}


EXTRACTORS: Mapping[str, Callable[[HostFacts], Items]] = {
    "package": _packages, "service_enabled": _enabled, "service_running": _running, "timer": _timers,
    "crontab": _crontab, "kernel": lambda f: _single("kernel", f.system.kernel),
    "os": lambda f: _single("os_release", f.system.os_release), "log_partition": _log_partition,
}


def odd_ones_out(values: Mapping[str, str]) -> Tuple[str, ...]:
    """Pick the odd host(s) out of host -> value per the module's rule (see the module docstring)."""
    if len(values) == 2:
        present = [h for h, v in values.items() if v != ABSENT]
        return tuple(sorted(present)) if len(present) == 1 else tuple(sorted(values))
    counts = Counter(values.values()).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return ()
    return tuple(sorted(h for h, v in values.items() if v != counts[0][0]))


def _diffs(group: str, kind: str, per_host: Mapping[str, Items]) -> List[TwinDiff]:
    out: List[TwinDiff] = []
    for item in sorted({k for items in per_host.values() for k in items}):
        values = {h: items.get(item, ABSENT) for h, items in per_host.items()}
        if len(set(values.values())) > 1:
            out.append(TwinDiff(group, kind, item, values, odd_ones_out(values)))
    return out


def twins(facts: Mapping[str, HostFacts], groups: Mapping[str, Tuple[str, ...]]) -> Tuple[TwinDiff, ...]:
    """Compare the audited hosts of every group (two or more members) item by item."""
    out: List[TwinDiff] = []
    for group in sorted(groups):
        members = [h for h in groups[group] if h in facts]
        if len(members) < 2:
            continue
        for kind in KIND_ORDER:
            per_host = {h: EXTRACTORS[kind](facts[h]) for h in members}
            per_host = {h: items for h, items in per_host.items() if items}
            if len(per_host) >= 2:
                out.extend(_diffs(group, kind, per_host))
    return tuple(out)


def compare(hosts: Sequence[HostSnapshot], facts: Mapping[str, HostFacts], findings: Mapping[str, Sequence[Finding]],
            groups: Mapping[str, Tuple[str, ...]]) -> Comparison:
    """Build the fleet matrix (hosts as columns, unaudited hosts as their status) and the twin diffs."""
    checks, cells = matrix(hosts, findings)
    return Comparison(hosts=tuple(s.host for s in hosts), checks=checks, matrix=cells, twins=twins(facts, groups))
