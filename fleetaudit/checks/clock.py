"""Check for clock steps: timesyncd and fake-hwclock corrections, or log time going backwards."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

from fleetaudit.facts import ClockEvent, HostFacts
from fleetaudit.model import Finding

from .common import iso, local, make
from .registry import CheckContext, check

BOOT_GRACE = dt.timedelta(minutes=15)
BIG_STEP_S = 300.0   # cron treats a jump of 6 minutes or more as a time change


def after_boot(facts: HostFacts, event: ClockEvent) -> bool:
    """Return True when the step happened within 15 minutes after a boot (normal on a Pi without RTC)."""
    return any(timedelta_ok(local(event.at) - local(boot)) for boot in facts.boots)


def timedelta_ok(delta: dt.timedelta) -> bool:
    """Return True for 0 <= delta <= the boot grace period."""
    return dt.timedelta(0) <= delta <= BOOT_GRACE


def severity(facts: HostFacts, event: ClockEvent) -> str:
    """Warning for a step of 5 minutes or more away from boot; info otherwise (or unknown size)."""
    big = event.delta_seconds is not None and abs(event.delta_seconds) >= BIG_STEP_S
    return "warning" if big and not after_boot(facts, event) else "info"


@check("clock.jump", description="The host clock was stepped (time sync, fake-hwclock, or log time going backwards).",
       evidence=("at", "delta_seconds", "source", "line"), needs=("clock_events", "boots"))
def jump(facts: HostFacts, ctx: CheckContext) -> Iterator[Finding]:
    """Report each clock step."""
    for event in sorted(facts.clock_events, key=lambda e: local(e.at)):
        size = (f"by {event.delta_seconds:+.0f} s" if event.delta_seconds is not None else "by an unknown amount")
        summary = (f"The clock was stepped {size} at {iso(event.at)} ({event.source}): scheduled jobs around it "
                   f"may have been skipped or replayed.")
        evidence = {"at": iso(event.at), "delta_seconds": event.delta_seconds, "source": event.source,
                    "line": event.line}
        yield make(facts, "clock.jump", severity(facts, event), summary, evidence,
                   key=f"{iso(event.at)}|{event.source}", start=event.at)
