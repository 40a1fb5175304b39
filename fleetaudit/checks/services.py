"""Check for services running or enabled that neither the inventory nor the host's peers expect."""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Iterator, Optional, Set

from fleetaudit.facts import HostFacts, ServiceState
from fleetaudit.model import Finding

from .common import iso, local, make
from .packages import base_name
from .registry import CheckContext, check


def unit_name(name: str) -> str:
    """Return a service name with its ``.service`` suffix."""
    return name if "." in name else f"{name}.service"


def active(service: ServiceState) -> bool:
    """Return True when the service runs or is enabled."""
    return bool(service.running) or bool(service.enabled)


def expected_set(ctx: CheckContext) -> Optional[Set[str]]:
    """Return the inventory's expected services plus every service active on a peer; None when neither exists."""
    if not ctx.host.expected_services and not ctx.peers:
        return None
    names = {unit_name(s) for s in ctx.host.expected_services}
    for peer in ctx.peers:
        names.update(unit_name(s.name) for s in peer.services if active(s))
    return names


def installed_at(facts: HostFacts, package: str) -> Optional[dt.datetime]:
    """Return when ``package`` was last installed according to apt/dpkg logs."""
    times = [local(a.at) for a in facts.package_actions
             if base_name(a.package) == base_name(package) and a.action in ("install", "reinstall")]
    return max(times, default=None)


def _states(service: ServiceState) -> str:
    parts: Iterable[str] = (p for p, on in (("running", service.running), ("enabled", service.enabled)) if on)
    return " and ".join(parts)


@check("services.unexpected",
       description="A service runs or is enabled that the inventory's expected set and the host's peers lack.",
       evidence=("service", "running", "enabled", "package", "installed_at"), needs=("services", "package_actions"),
       peers=True)
def unexpected(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each active service outside the expected set (silent when there is nothing to compare with)."""
    expected = expected_set(ctx)
    if expected is None:
        return
    for svc in facts.services:
        if not active(svc) or unit_name(svc.name) in expected:
            continue
        when = installed_at(facts, svc.package) if svc.package else None
        origin = f" from package {svc.package}" if svc.package else ""
        since = f" installed {iso(when)}" if when else ""
        summary = (f"{unit_name(svc.name)}{origin}{since} is {_states(svc)} here but not expected and not active on "
                   f"its peers: stop and disable it or remove the package if it is not needed.")
        evidence = {"service": unit_name(svc.name), "running": svc.running, "enabled": svc.enabled,
                    "package": svc.package, "installed_at": iso(when)}
        yield make(facts, "services.unexpected", "warning", summary, evidence, key=unit_name(svc.name))
