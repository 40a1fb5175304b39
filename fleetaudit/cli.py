"""The fleetaudit command line: run, collect, analyze, report, demo, history, diff, schedule.

Exit status, for every command:
  0  every host audited and nothing at or above --fail-on
  1  findings at or above --fail-on (default: warning)
  2  a host could not be audited (unreachable, auth, host key, timeout, error)
  3  usage, inventory or lock error
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, TypeVar

import click

from fleetaudit import __version__
from fleetaudit.model import SEVERITIES

EXIT_OK, EXIT_FINDINGS, EXIT_HOST_FAILED, EXIT_USAGE = 0, 1, 2, 3

EXIT_HELP = """\b
Exit status:
  0  every host audited and nothing at or above --fail-on
  1  findings at or above --fail-on (default: warning)
  2  a host could not be audited
  3  usage, inventory or lock error"""

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A usage, inventory or lock problem: one line, exit status 3."""

    exit_code = EXIT_USAGE


def common_options(func: F) -> F:
    """Add the options every fleet command shares."""
    decorators = [
        click.option("-i", "--inventory", "inventory", default="inventory.yaml", show_default=True,
                     help="Inventory file (fleetaudit or Ansible YAML)."),
        click.option("--reports", "reports", default="reports", show_default=True,
                     help="Directory holding run snapshots and reports."),
        click.option("--jobs", "jobs", type=click.IntRange(1, 256), default=None,
                     help="Hosts audited at once (default: min(8, hosts))."),
        click.option("--hosts", "hosts", default=None, help="Limit to these hosts or groups (comma separated)."),
        click.option("-v", "--verbose", "verbose", count=True, help="More detail (repeat for more)."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def report_options(func: F) -> F:
    """Add the options of the commands that print a report."""
    decorators = [
        click.option("--fail-on", "fail_on", type=click.Choice(SEVERITIES), default="warning", show_default=True,
                     help="Lowest severity that makes the exit status 1."),
        click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table",
                     show_default=True, help="What to print on standard output."),
        click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
                     help="Write the printed report to this file instead of standard output."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def collect_options(func: F) -> F:
    """Add the options of the commands that reach hosts."""
    decorators = [
        click.option("--trust-new-hosts", is_flag=True,
                     help="Trust unknown host keys on first use (recorded in fleetaudit's own known_hosts)."),
        click.option("--full", is_flag=True, help="Pull everything again instead of only what is new."),
        click.option("--connect-timeout", type=float, default=10.0, show_default=True, help="Seconds to connect."),
        click.option("--deadline", type=float, default=300.0, show_default=True,
                     help="Most seconds one host may take in all."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


@click.group(epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fleetaudit")
def cli() -> None:
    """Audit every Raspberry Pi in an inventory over SSH and report anomalies side by side."""


def _commands() -> None:
    """Import the command modules so they register on ``cli``."""
    from fleetaudit import commands  # noqa: F401


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point: run the CLI, mapping usage errors to exit status 3."""
    _commands()
    # paramiko logs every failed handshake (a tarpit, a reset) with a traceback from its own thread; the host's
    # status already says what happened, so keep its log out of the terminal.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = cli.main(args=args, prog_name="fleetaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        rc = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        rc = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        rc = 130
    sys.exit(rc if isinstance(rc, int) else 0)


def is_tty() -> bool:
    """Return True when standard output is an interactive terminal."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def reports_path(reports: str) -> Path:
    """Return the reports directory as a Path."""
    return Path(reports)
