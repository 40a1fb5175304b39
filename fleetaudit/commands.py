"""The fleet commands; each registers itself on ``fleetaudit.cli.cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from fleetaudit import workflow
from fleetaudit.cli import (
    EXIT_HELP,
    cli,
    collect_options,
    common_options,
    is_tty,
    report_options,
)
from fleetaudit.model import SEVERITIES


@cli.command(epilog=EXIT_HELP)
@common_options
@collect_options
@report_options
@click.option("--keep", type=click.IntRange(1, 10000), default=30, show_default=True, help="Runs to keep.")
@click.option("--notify", "notify_cmd", default=None,
              help="Shell command run with the summary on stdin when something new appears.")
def run(**opts: object) -> int:
    """Collect from every host, analyze, write the reports and print the fleet matrix."""
    return workflow.run_command(workflow.RunArgs.from_options(opts))


@cli.command(epilog=EXIT_HELP)
@common_options
@collect_options
def collect(**opts: object) -> int:
    """Pull every host's evidence into a snapshot under --reports (no analysis)."""
    return workflow.collect_command(workflow.RunArgs.from_options(opts))


@cli.command(epilog=EXIT_HELP)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-i", "--inventory", "inventory", default=None,
              help="Inventory for thresholds and groups (default: the one the run used, if still there).")
@report_options
@click.option("-v", "--verbose", "verbose", count=True)
def analyze(run_dir: str, inventory: Optional[str], fail_on: str, fmt: str, output: Optional[str],
            verbose: int) -> int:
    """Analyze a snapshot offline, write its report.html/report.json and print the report."""
    return workflow.analyze_command(run_dir, inventory, fail_on, fmt, output, write=True)


@cli.command(epilog=EXIT_HELP)
@click.argument("run_dir", type=click.Path(file_okay=False), default="reports/latest")
@click.option("-i", "--inventory", "inventory", default=None)
@report_options
def report(run_dir: str, inventory: Optional[str], fail_on: str, fmt: str, output: Optional[str]) -> int:
    """Print the report of a run again (default: reports/latest)."""
    return workflow.analyze_command(run_dir, inventory, fail_on, fmt, output, write=False)


@cli.command()
@click.option("--reports", "reports", default="reports", show_default=True)
def history(reports: str) -> int:
    """List past runs with their host statuses and finding counts."""
    return workflow.history_command(reports)


@cli.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--reports", "reports", default="reports", show_default=True)
def diff(run_a: str, run_b: str, reports: str) -> int:
    """Print what changed between two runs (new and resolved findings, host status changes)."""
    return workflow.diff_command(reports, run_a, run_b)


@cli.command()
@click.option("--systemd", "kind", flag_value="systemd", default=True, help="A user service + timer (default).")
@click.option("--cron", "kind", flag_value="cron", help="A crontab line.")
@click.option("-i", "--inventory", "inventory", default="inventory.yaml", show_default=True)
@click.option("--reports", "reports", default="reports", show_default=True)
@click.option("--timeout-minutes", type=click.IntRange(1, 1440), default=60, show_default=True)
def schedule(kind: str, inventory: str, reports: str, timeout_minutes: int) -> int:
    """Print a ready nightly schedule (systemd user timer + service, or a crontab line)."""
    return workflow.schedule_command(kind, inventory, reports, timeout_minutes)


@cli.command(epilog=EXIT_HELP)
@click.option("--reports", "reports", default="reports", show_default=True)
@click.option("--workdir", default=None, help="Where the simulated fleet lives (default: <reports>/.demo-fleet).")
@click.option("--local", "force_local", is_flag=True, help="Audit the fleet's files directly, without sshd.")
@click.option("--fail-on", "fail_on", type=click.Choice(SEVERITIES), default="warning", show_default=True)
@click.option("-v", "--verbose", "verbose", count=True)
def demo(reports: str, workdir: Optional[str], force_local: bool, fail_on: str, verbose: int) -> int:
    """Start the built-in simulated Pi fleet, audit it and print where the report is."""
    wd = Path(workdir) if workdir else Path(reports) / ".demo-fleet"
    return workflow.demo_command(Path(reports), wd, force_local, fail_on, verbose, is_tty())
