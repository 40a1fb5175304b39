"""source.unavailable for damaged reads: counted by the parsers, reported, silent on a clean read."""

from __future__ import annotations

from fleetaudit.checks import CheckContext, run_checks
from fleetaudit.facts import HostFacts, ReadStats
from fleetaudit.model import Host


def _damaged(facts: HostFacts) -> list:
    ctx = CheckContext(host=Host(name="pi"), peers=(), now=None)
    return [f for f in run_checks(facts, ctx) if f.check == "source.unavailable" and f.evidence["status"] == "damaged"]


def test_damaged_read_is_reported_with_its_counts() -> None:
    stats = ReadStats(source="syslog", lines=100, undecodable_lines=3, nul_lines=2,
                      truncated_gzip=("files/var/log/syslog.2.gz",))
    found = _damaged(HostFacts(host="pi", read_stats=(stats,)))
    assert len(found) == 1
    f = found[0]
    assert f.severity == "warning" and f.evidence["source"] == "syslog"
    assert "3 lines of invalid UTF-8" in f.evidence["reason"] and "truncated gzip" in f.evidence["reason"]


def test_minor_damage_is_info_and_a_clean_read_is_silent() -> None:
    minor = _damaged(HostFacts(host="pi", read_stats=(ReadStats(source="auth", oversized_lines=1),)))
    assert [f.severity for f in minor] == ["info"]
    assert _damaged(HostFacts(host="pi", read_stats=(ReadStats(source="auth", lines=10, bad_lines=2),))) == []
