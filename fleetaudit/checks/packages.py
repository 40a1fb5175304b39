"""Check for packages installed or removed shortly before the audited period ended."""

from __future__ import annotations

import datetime as dt
from typing import Dict, Iterator, List, Tuple

from fleetaudit.facts import HostFacts, PackageAction
from fleetaudit.model import Finding

from .common import iso, local, make, resolve_now
from .registry import CheckContext, check

PAST = {"install": "installed", "reinstall": "reinstalled", "remove": "removed", "purge": "purged"}
ACTIONS = tuple(PAST)
SAME_RUN = dt.timedelta(minutes=30)


def base_name(package: str) -> str:
    """Return a package name without its ``:arch`` suffix."""
    return package.split(":", 1)[0]


def _dedupe(actions: List[PackageAction]) -> List[PackageAction]:
    """Keep apt-history entries; drop dpkg.log entries for the same package and action within 30 minutes."""
    apt: Dict[Tuple[str, str], List[dt.datetime]] = {}
    for a in actions:
        if a.origin == "apt-history":
            apt.setdefault((base_name(a.package), a.action), []).append(local(a.at))
    kept = []
    for a in actions:
        times = apt.get((base_name(a.package), a.action), [])
        if a.origin == "apt-history" or not any(abs(local(a.at) - t) <= SAME_RUN for t in times):
            kept.append(a)
    return kept


def recent_actions(facts: HostFacts, ctx: CheckContext) -> List[PackageAction]:
    """Return install/remove actions in the last ``recent_install_days`` before now, oldest first."""
    now = resolve_now(facts, ctx)
    if now is None:
        return []
    since = now - dt.timedelta(days=ctx.host.thresholds.recent_install_days)
    chosen = [a for a in facts.package_actions if a.action in ACTIONS and since <= local(a.at) <= now]
    return sorted(_dedupe(chosen), key=lambda a: local(a.at))


@check("packages.recent_install", description="A package was installed or removed in the last N days.",
       evidence=("package", "action", "at", "requested_by", "commandline", "version", "automatic"),
       needs=("package_actions",))
def recent_install(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each recent install/remove so a change that preceded trouble stands out."""
    days = ctx.host.thresholds.recent_install_days
    for a in recent_actions(facts, ctx):
        who = f" by {a.requested_by}" if a.requested_by else ""
        cmd = f" (`{a.commandline}`)" if a.commandline else ""
        summary = (f"{base_name(a.package)} was {PAST[a.action]}{who} on {iso(a.at)}{cmd}, within the last {days} "
                   f"days: check that it is wanted and configured.")
        evidence = {"package": base_name(a.package), "action": a.action, "at": iso(a.at),
                    "requested_by": a.requested_by, "commandline": a.commandline, "version": a.version,
                    "automatic": a.automatic}
        yield make(facts, "packages.recent_install", "info", summary, evidence,
                   key=f"{base_name(a.package)}|{a.action}|{iso(a.at)}", start=a.at)
