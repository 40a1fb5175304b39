"""Check for sources that could not be read, and say why."""

from __future__ import annotations

from typing import Iterator, List, Optional

from fleetaudit.facts import HostFacts, ReadStats
from fleetaudit.model import Finding

from .common import make
from .registry import CheckContext, check

READABLE = ("ok", "truncated", "unchanged")
REQUIRED = ("hostname", "dpkg_status", "df")
# Sources whose absence ("missing") is normal on some hosts: not every host has SoftEther, a logger,
# apt history, crontabs, a Pi model/thermal zone, or a journal dump (only taken when there is no syslog).
ABSENCE_IS_NORMAL = ("journal", "softether", "logger_db", "apt_history", "dpkg_log", "crontabs", "model",
                     "soc_temp", "systemctl_timers", "systemctl_units")
# systemctl fails when systemd is not PID 1 (containers, a mounted SD card): unit files give enablement.
FAILURE_IS_NORMAL = ("systemctl_timers", "systemctl_units")


def _other_log_ok(facts: HostFacts, name: str) -> bool:
    """Return True when the other system log (syslog vs journal) was read."""
    other = {"syslog": "journal", "auth": "journal", "journal": "syslog"}.get(name)
    return other is not None and facts.source_status.get(other) in READABLE


def _logger_configured(ctx: CheckContext) -> bool:
    spec = ctx.host.logger
    return spec.table is not None or spec.interval_minutes is not None


def exempt(facts: HostFacts, ctx: CheckContext, name: str, status: str) -> bool:
    """Return True when this status of this source is normal and not worth a finding."""
    if status in READABLE:
        return True
    if name in FAILURE_IS_NORMAL and status in ("missing", "error"):
        return True
    if status != "missing":
        return False
    if name == "logger_db":
        return not _logger_configured(ctx)
    return name in ABSENCE_IS_NORMAL or _other_log_ok(facts, name)


def severity(name: str) -> str:
    """Critical for sources every audit needs, warning for the rest."""
    return "critical" if name in REQUIRED else "warning"


@check("source.unavailable", description="A source could not be read from the host (missing, denied, timed out...).",
       evidence=("source", "status", "reason"), needs=("source_status", "source_reason", "logger", "read_stats"))
def unavailable(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each source whose status is not readable, except where its absence is normal."""
    for name, status in sorted(facts.source_status.items()):
        if exempt(facts, ctx, name, status):
            continue
        reason = facts.source_reason.get(name, "")
        summary = (f"The {name} source was not read ({status}{': ' + reason if reason else ''}); checks that "
                   f"need it are blind on this host{_hint(status)}")
        yield make(facts, "source.unavailable", severity(name), summary,
                   {"source": name, "status": status, "reason": reason}, key=name)
    yield from _logger_error(facts)
    yield from _damaged(facts)


def damage(stats: ReadStats) -> List[str]:
    """Return what could not be read in one source, one phrase per kind of damage."""
    parts = [f"{n} {what}" for n, what in ((stats.undecodable_lines, "lines of invalid UTF-8"),
                                             (stats.nul_lines, "lines with NUL bytes"),
                                             (stats.oversized_lines, "over-long lines clipped")) if n]
    parts += [f"truncated gzip {name}" for name in stats.truncated_gzip]
    return parts + list(stats.errors)


def _damaged(facts: HostFacts) -> Iterator[Finding]:
    """Report sources that were read but held bytes the parsers had to skip or repair (counted, not guessed)."""
    for stats in facts.read_stats:
        parts = damage(stats)
        if not parts:
            continue
        reason = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more" if len(parts) > 6 else "")
        summary = (f"The {stats.source} source was read but part of it is damaged ({reason}); findings from it may "
                   "miss what those bytes held.")
        severity = "warning" if stats.truncated_gzip or stats.errors else "info"
        yield make(facts, "source.unavailable", severity, summary,
                   {"source": stats.source, "status": "damaged", "reason": reason}, key=f"{stats.source}:damaged")


def _hint(status: str) -> str:
    hints = {"denied": ": set sudo: true for this host or grant read access.",
             "timeout": ": raise the command timeout or check the host's load."}
    return hints.get(status, ".")


def _logger_error(facts: HostFacts) -> Iterator[Finding]:
    """Report a logger DB that was pulled but could not be read."""
    error: Optional[str] = facts.logger.error if facts.logger is not None else None
    if not error or facts.source_status.get("logger_db", "ok") not in READABLE:
        return
    summary = f"The logger DB was pulled but could not be read ({error}); the logger checks are blind on this host."
    yield make(facts, "source.unavailable", "warning", summary,
               {"source": "logger_db", "status": "error", "reason": error}, key="logger_db")
