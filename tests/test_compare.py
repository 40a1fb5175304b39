"""The fleet matrix and twin diffs: lirc as the odd one out, majority rule, unreachable columns."""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Mapping, Sequence

from test_report_fixture import OFFLINE, PI, TWIN, pi_facts, pi_findings, snapshots, twin_facts, twin_findings

from fleetaudit.compare import compare, odd_ones_out
from fleetaudit.facts import HostFacts, SystemInfo
from fleetaudit.model import Comparison, Finding, HostSnapshot, TwinDiff


def fleet() -> Comparison:
    facts = {PI: pi_facts(), TWIN: twin_facts()}
    findings: Dict[str, Sequence[Finding]] = {PI: pi_findings(), TWIN: twin_findings()}
    return compare(snapshots(), facts, findings, {"softether_3bplus": (PI, TWIN)})


def diff(comp: Comparison, kind: str, item: str) -> TwinDiff:
    return next(t for t in comp.twins if t.kind == kind and t.item == item)


def test_lirc_is_the_odd_one_out_on_the_incident_pi() -> None:
    comp = fleet()
    lirc = diff(comp, "package", "lirc")
    assert lirc.values == {PI: "0.10.1-6.3", TWIN: "absent"} and lirc.odd_ones_out == (PI,)
    assert diff(comp, "service_running", "lircd.service").odd_ones_out == (PI,)
    assert diff(comp, "service_enabled", "lircd.service").odd_ones_out == (PI,)


def test_two_hosts_with_different_values_are_both_listed() -> None:
    use = diff(fleet(), "log_partition", "/var/log use")
    assert use.values == {PI: "100%", TWIN: "23%"} and use.odd_ones_out == (PI, TWIN)


def test_identical_items_are_not_listed() -> None:
    items = {(t.kind, t.item) for t in fleet().twins}
    assert ("package", "softether-vpnserver") not in items and ("kernel", "kernel") not in items
    assert all(t.group == "softether_3bplus" for t in fleet().twins)


def test_unreachable_host_is_its_own_column_state() -> None:
    comp = fleet()
    assert comp.hosts == (PI, TWIN, OFFLINE)
    assert comp.matrix["logger.burst"] == {PI: "warning", TWIN: "", OFFLINE: "unreachable"}
    assert comp.matrix["disk.log_partition_full"][PI] == "critical"
    assert comp.matrix["auth.accepted_login"][TWIN] == "info"


def test_cell_is_worst_open_severity() -> None:
    found = [Finding(PI, "auth.failed_logins", s, "x", status=st) for s, st in
             (("info", "new"), ("warning", "ongoing"), ("critical", "resolved"))]
    comp = compare(snapshots()[:1], {}, {PI: found}, {})
    assert comp.matrix == {"auth.failed_logins": {PI: "warning"}}


def _three(kernels: Mapping[str, str]) -> Comparison:
    names = tuple(kernels)
    facts: Dict[str, HostFacts] = {n: HostFacts(host=n, system=SystemInfo(kernel=k)) for n, k in kernels.items()}
    snaps = tuple(HostSnapshot(n, "ok", "", f"/r/{n}") for n in names)
    return compare(snaps, facts, {}, {"g": names})


def test_majority_rule_with_three_hosts() -> None:
    comp = _three({"a": "Linux 5.4.51", "b": "Linux 5.4.51", "c": "Linux 5.10.63"})
    (kernel,) = comp.twins
    assert kernel.kind == "kernel" and kernel.odd_ones_out == ("c",)


def test_no_majority_singles_out_nobody() -> None:
    (kernel,) = _three({"a": "1", "b": "2", "c": "3"}).twins
    assert kernel.odd_ones_out == ()


def test_three_hosts_one_lacking_a_package() -> None:
    pis = {n: replace(pi_facts(), host=n) for n in ("a", "b")}
    pis["c"] = replace(twin_facts(), host="c")
    snaps = tuple(HostSnapshot(n, "ok", "", f"/r/{n}") for n in pis)
    comp = compare(snaps, pis, {}, {"g": ("a", "b", "c")})
    lirc = diff(comp, "package", "lirc")
    assert lirc.odd_ones_out == ("c",)


def test_host_without_data_of_a_kind_is_left_out_of_it() -> None:
    facts = {PI: pi_facts(), TWIN: replace(twin_facts(), packages=())}
    comp = compare(snapshots(), facts, {}, {"softether_3bplus": (PI, TWIN)})
    assert not [t for t in comp.twins if t.kind == "package"]
    assert [t for t in comp.twins if t.kind == "service_running"]


def test_unaudited_group_member_is_not_compared() -> None:
    comp = compare(snapshots(), {PI: pi_facts()}, {}, {"softether_3bplus": (PI, OFFLINE)})
    assert comp.twins == ()


def test_odd_ones_out_rule_table() -> None:
    assert odd_ones_out({"a": "1.0", "b": "absent"}) == ("a",)
    assert odd_ones_out({"a": "1.0", "b": "2.0"}) == ("a", "b")
    assert odd_ones_out({"a": "x", "b": "x", "c": "absent", "d": "absent"}) == ()
