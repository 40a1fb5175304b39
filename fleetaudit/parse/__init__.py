"""Parsers: pure, streaming functions from a host's snapshot files to ``facts.HostFacts``."""

from __future__ import annotations

from fleetaudit.parse.build import build_facts

__all__ = ["build_facts"]
