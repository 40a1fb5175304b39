"""Conformance of the check registry: unique ids, descriptions, documented evidence keys, real `needs`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from test_checks_fixtures import findings, incident_facts, twin_facts

from fleetaudit.checks import INTERNAL_ERROR_CHECK, REGISTRY, CheckContext, CheckSpec, Registry, run_checks
from fleetaudit.facts import HostFacts
from fleetaudit.model import SEVERITIES, Finding, Host

DOC = Path(__file__).resolve().parent.parent / "docs" / "checks.md"
ISSUE_IDS = {
    "logger.burst", "logger.late_drift", "logger.gap", "logger.daily_count", "disk.log_partition_full",
    "logs.noisy_program", "logs.lost_window", "services.unexpected", "packages.recent_install",
    "vpn.unclean_restart", "vpn.admin_login_failed", "vpn.user_auth_failed", "auth.failed_logins",
    "auth.accepted_login", "thermal.spike", "logs.discontinuity", "clock.jump", "source.unavailable",
}


def doc_sections() -> Dict[str, str]:
    """Return check id -> section text of docs/checks.md."""
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.M)[1:]
    return {p.split("\n", 1)[0].strip(): p for p in parts}


def documented_keys(section: str) -> List[str]:
    """Return the evidence keys listed as "- `key` — ..." under "Evidence:"."""
    block = section.split("Evidence:", 1)[1] if "Evidence:" in section else ""
    return re.findall(r"^- `([a-z_]+)` —", block, flags=re.M)


def test_every_issue_check_is_registered() -> None:
    assert set(REGISTRY.ids()) == ISSUE_IDS
    assert len(REGISTRY.ids()) == len(set(REGISTRY.ids()))


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.id)
def test_spec_is_documented(spec: CheckSpec) -> None:
    assert spec.description.strip()
    sections = doc_sections()
    assert spec.id in sections, f"docs/checks.md has no section for {spec.id}"
    section = sections[spec.id]
    assert "Severity:" in section
    assert set(spec.evidence) <= set(documented_keys(section)), spec.id


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.id)
def test_needs_are_hostfacts_fields(spec: CheckSpec) -> None:
    fields = {f.name for f in dataclasses.fields(HostFacts)}
    assert spec.needs and set(spec.needs) <= fields


def test_internal_error_finding_is_documented() -> None:
    assert documented_keys(doc_sections()[INTERNAL_ERROR_CHECK]) == ["check", "error"]


def test_findings_carry_their_declared_evidence_keys() -> None:
    for facts, peers in ((incident_facts(), [twin_facts()]), (twin_facts(), [incident_facts()])):
        for f in findings(facts, peers):
            spec = REGISTRY.get(f.check)
            assert spec is not None and f.severity in SEVERITIES and f.summary.endswith(".")
            assert set(spec.evidence) <= set(f.evidence) or f.check == "thermal.spike", f
            assert f.fingerprint and f.host == facts.host


def test_fingerprints_are_unique() -> None:
    found = findings(incident_facts(), [twin_facts()])
    assert len({f.fingerprint for f in found}) == len(found)


def test_fresh_registry_runs_and_rejects_duplicates() -> None:
    reg = Registry()

    @reg.check("demo.one", description="Always one finding.", evidence=("n",), needs=("host",))
    def one(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
        yield Finding(facts.host, "demo.one", "info", "One.", evidence={"n": 1})

    assert reg.ids() == ("demo.one",) and len(reg) == 1
    out = run_checks(HostFacts("h"), CheckContext(Host("h"), (), None), reg)
    assert [f.check for f in out] == ["demo.one"]
    with pytest.raises(ValueError):
        reg.check("demo.one", description="Again.")(one)
    with pytest.raises(ValueError):
        reg.check("demo.two", description=" ")(one)


def test_a_check_that_raises_becomes_a_finding() -> None:
    reg = Registry()

    @reg.check("demo.boom", description="Raises.", needs=("host",))
    def boom(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
        raise ZeroDivisionError("division by zero")
        yield  # pragma: no cover

    @reg.check("demo.bad", description="Bad severity.", needs=("host",))
    def bad(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
        yield Finding(facts.host, "demo.bad", "fatal", "Bad.")

    out = run_checks(HostFacts("h"), CheckContext(Host("h"), (), None), reg)
    assert [(f.check, f.severity, f.evidence["check"]) for f in out] == [
        (INTERNAL_ERROR_CHECK, "warning", "demo.boom"), (INTERNAL_ERROR_CHECK, "warning", "demo.bad")]
    assert "ZeroDivisionError: division by zero" in out[0].evidence["error"]


def test_empty_facts_give_no_findings_and_no_errors() -> None:
    assert run_checks(HostFacts("empty"), CheckContext(Host("empty"), (), None)) == ()


def test_default_registry_is_not_mutated_by_fresh_ones() -> None:
    before = REGISTRY.ids()
    Registry().check("x.y", description="X.")(lambda f, c: ())
    assert REGISTRY.ids() == before and dataclasses.is_dataclass(CheckContext)
