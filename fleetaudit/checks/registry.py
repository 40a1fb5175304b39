"""The check registry: ids, descriptions, evidence keys and the functions that produce findings.

A check is a small pure function ``(facts, ctx) -> Iterable[Finding]`` registered with an id. Tests
build a fresh ``Registry``; the modules of this package register into the default ``REGISTRY``.

Peer checks (``peers=True``) compare a host with the other hosts of its groups. The pipeline runs every other
check in the worker process that parsed the host, and the peer checks afterwards, once every host is parsed,
with the peers' *peer views*: facts without the bulky time series (see ``pipeline.peer_view``). So a peer
check may read the peers' services, packages, package actions, timers, crontabs, filesystems and system
info, not their logs or logger rows; its findings carry no start time, because incidents are clustered
in the worker before the peer checks run (a peer finding with a start is turned into ``check.error``).
"""

from __future__ import annotations

import datetime as dt
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

from fleetaudit.facts import HostFacts
from fleetaudit.model import SEVERITIES, Finding, Host

INTERNAL_ERROR_CHECK = "check.error"


@dataclass(frozen=True)
class CheckContext:
    """What a check may know beyond the host's own facts."""

    host: Host
    peers: Tuple[HostFacts, ...] = ()      # facts of the other hosts in the same group(s)
    now: Optional[dt.datetime] = None      # end of the audited period; None: derived from the facts


CheckFn = Callable[[HostFacts, CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    """One registered check."""

    id: str
    description: str
    evidence: Tuple[str, ...]
    needs: Tuple[str, ...]
    fn: CheckFn = field(compare=False)
    peers: bool = False                    # compares with the group peers (runs after every host is parsed)


class Registry:
    """An ordered set of checks keyed by id; ids are unique."""

    def __init__(self) -> None:
        self._checks: Dict[str, CheckSpec] = {}

    def register(self, spec: CheckSpec) -> None:
        """Add one check; a second check with the same id is an error."""
        if spec.id in self._checks:
            raise ValueError(f"check id {spec.id!r} registered twice")
        if not spec.description.strip():
            raise ValueError(f"check {spec.id!r} has no description")
        self._checks[spec.id] = spec

    def check(self, check_id: str, *, description: str, evidence: Tuple[str, ...] = (),
              needs: Tuple[str, ...] = (), peers: bool = False) -> Callable[[CheckFn], CheckFn]:
        """Return a decorator that registers a check function under ``check_id``."""
        def decorate(fn: CheckFn) -> CheckFn:
            self.register(CheckSpec(check_id, description, tuple(evidence), tuple(needs), fn, peers))
            return fn
        return decorate

    def get(self, check_id: str) -> Optional[CheckSpec]:
        """Return the check registered under ``check_id``, or None."""
        return self._checks.get(check_id)

    def ids(self) -> Tuple[str, ...]:
        """Return every check id in registration order."""
        return tuple(self._checks)

    def __iter__(self) -> Iterator[CheckSpec]:
        return iter(tuple(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)


REGISTRY = Registry()


def check(check_id: str, *, description: str, evidence: Tuple[str, ...] = (),
          needs: Tuple[str, ...] = (), peers: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register a check function into the default ``REGISTRY``."""
    return REGISTRY.check(check_id, description=description, evidence=evidence, needs=needs, peers=peers)


def _error_finding(facts: HostFacts, spec: CheckSpec, exc: BaseException) -> Finding:
    """Turn a check that raised into a warning finding carrying the exception text."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    text = f"{type(exc).__name__}: {exc}{at}"
    return Finding(
        host=facts.host, check=INTERNAL_ERROR_CHECK, severity="warning",
        summary=f"The check {spec.id} failed on this host ({text}); its findings are missing from this report.",
        evidence={"check": spec.id, "error": text}, fingerprint=f"{INTERNAL_ERROR_CHECK}|{facts.host}|{spec.id}",
    )


def _run_one(spec: CheckSpec, facts: HostFacts, ctx: CheckContext) -> Tuple[Finding, ...]:
    """Run one check; an exception becomes a ``check.error`` finding, never a crash."""
    try:
        found = tuple(spec.fn(facts, ctx))
    except Exception as exc:  # a broken check must not abort the audit: it becomes a value
        return (_error_finding(facts, spec, exc),)
    bad = [f for f in found if f.severity not in SEVERITIES]
    if bad:
        return (_error_finding(facts, spec, ValueError(f"invalid severity {bad[0].severity!r}")),)
    if spec.peers and any(f.start for f in found):
        return (_error_finding(facts, spec, ValueError("a peer check's finding has a start time")),)
    return found


def run_check_map(facts: HostFacts, ctx: CheckContext, registry: Registry = REGISTRY,
                  peers: Optional[bool] = None) -> Dict[str, Tuple[Finding, ...]]:
    """Run the checks of ``registry`` over one host's facts: check id -> its findings, in registration order.

    ``peers`` selects: None every check, False all but the peer checks, True only the peer checks.
    """
    return {spec.id: _run_one(spec, facts, ctx) for spec in registry if peers is None or spec.peers == peers}


def in_order(found: Mapping[str, Sequence[Finding]], registry: Registry = REGISTRY) -> Tuple[Finding, ...]:
    """Flatten check id -> findings into one tuple in registration order (ids the registry lacks last)."""
    ids = list(registry.ids()) + sorted(set(found) - set(registry.ids()))
    return tuple(f for check_id in ids for f in found.get(check_id, ()))


def run_checks(facts: HostFacts, ctx: CheckContext, registry: Registry = REGISTRY) -> Tuple[Finding, ...]:
    """Run every check of ``registry`` over one host's facts, in registration order."""
    return in_order(run_check_map(facts, ctx, registry), registry)
