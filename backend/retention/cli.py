"""`flask retention run [--dry-run] [--as-of YYYY-MM-DD]`: the R8 retention job (run it daily)."""

from datetime import date

import click
from flask.cli import AppGroup

from .services import run_retention

retention_cli = AppGroup("retention", help="R8 retention: purge personal data of closed cases past their period.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="List what is due; change nothing.")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD instead of today (UTC).")
def retention_run(dry_run: bool, as_of: str | None):
    """Judge every closed case against its jurisdiction's retention; purge the due ones."""
    report = run_retention(today=date.fromisoformat(as_of) if as_of else None, dry_run=dry_run)
    for case in report["cases"]:
        verdict = "due" if case["due"] else "kept"
        click.echo(
            f"case {case['case_id']} ({case['jurisdiction']}): {verdict} — {case['reason']}; "
            f"last activity {case['last_activity'][:10]}, retained until {case['retain_until']}"
        )
    action = "would purge" if dry_run else "purged"
    click.echo(f"retention as of {report['as_of']}: {report['judged']} closed cases judged, {action} {report['due']}")
    if not dry_run:
        click.echo(f"feed: {report['packet_stale_pruned']} packet invalidation entries no kept packet needs, deleted")
        click.echo(f"badge page: {report['badge_hits_pruned']} request log entries past the rate limit's window, deleted")
