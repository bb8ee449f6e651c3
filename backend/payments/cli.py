"""flask payments import FILE | flask payments evaluate --as-of DATE"""

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db

payments_cli = AppGroup("payments", help="The payment feed and promise matching.")


@payments_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", default=None, help="Evaluate touched promises as of YYYY-MM-DD (default today).")
def payments_import(file: Path, as_of: str | None):
    """Import a payment feed CSV (columns in docs/payments-import.md); idempotent by reference."""
    from werkzeug.exceptions import HTTPException

    from .services import import_payments

    try:
        report = import_payments(raw=file.read_bytes(), actor_id=None, as_of=date.fromisoformat(as_of) if as_of else None)
    except HTTPException as exc:
        data = getattr(exc, "data", {}) or {}
        raise click.ClickException(f"{data.get('message') or exc.description} {data.get('errors') or ''}".strip()) from exc
    for row in report["rows"]:
        if row["status"] == "rejected":
            click.echo(f"row {row['row']}: rejected {row['errors']}", err=True)
    click.echo("created {created}, duplicate {duplicate}, rejected {rejected}".format(**report))
    if report["promises"]:
        click.echo("promises: " + ", ".join(f"{k} {v}" for k, v in sorted(report["promises"].items())))


@payments_cli.command("evaluate")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD, default today.")
def payments_evaluate(as_of: str | None):
    """Decide open promises and plans as of a date (kept / partially kept / broken, follow-ups)."""
    from .services import evaluate_promises

    day = date.fromisoformat(as_of) if as_of else date.today()
    states = evaluate_promises(as_of=day)
    db.session.commit()
    click.echo(f"{day.isoformat()}: " + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "no open promises"))
