"""Anomaly checks: small pure functions over one host's facts, registered with an id.

Importing this package registers every check into ``REGISTRY``. ``run_checks`` runs them all and turns a
check that raises into a ``check.error`` finding. The ids, severities and evidence keys are a public
contract, documented in docs/checks.md.
"""

from __future__ import annotations

from . import auth, clock, disk, logger, logs, packages, services, source, thermal, vpn, windows
from .registry import (
    INTERNAL_ERROR_CHECK,
    REGISTRY,
    CheckContext,
    CheckFn,
    CheckSpec,
    Registry,
    check,
    in_order,
    run_check_map,
    run_checks,
)

__all__ = [
    "INTERNAL_ERROR_CHECK", "REGISTRY", "CheckContext", "CheckFn", "CheckSpec", "Registry", "check", "in_order",
    "run_check_map", "run_checks",
    "auth", "clock", "disk", "logger", "logs", "packages", "services", "source", "thermal", "vpn", "windows",
]
