"""Command line: flask demo seed|today, flask cases import FILE, flask users create."""

from datetime import date as date_cls
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db

demo_cli = AppGroup("demo", help="Demo data for the embedded set-up.")
cases_cli = AppGroup("cases", help="Case records.")
users_cli = AppGroup("users", help="User accounts.")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", default=7, show_default=True, help="Random seed.")
@click.option("--cases", "n_cases", default=600, show_default=True)
def demo_seed(if_empty: bool, seed: int, n_cases: int):
    """Build a believable city: branches, agents, ~600 cases with history, today's routes."""
    from .demo import database_is_empty, seed_demo

    if if_empty and not database_is_empty():
        click.echo("demo: database already has data; left as it is")
        return
    summary = seed_demo(seed=seed, n_cases=n_cases)
    click.echo(f"demo: {summary}")


@demo_cli.command("today")
@click.option("--date", "day", default=None, help="YYYY-MM-DD, default today in the branch timezone")
@click.option("--any-hour", is_flag=True, envvar="DEMO_ANY_HOUR", help="visit at any hour (demo only; also DEMO_ANY_HOUR=1)")
def demo_today(day: str | None, any_hour: bool):
    """Make sure every demo agent has a published route for the day, and say its hours."""
    from .demo import demo_hours_summary, top_up_day, widen_visiting_hours

    if any_hour:
        if not current_app.config["DEMO"]:
            raise click.UsageError("DEMO_ANY_HOUR is for the embedded demo only (DOORSTEP_DEMO=1)")
        if widen_visiting_hours():
            db.session.commit()
    target = date_cls.fromisoformat(day) if day else None
    click.echo(f"demo: {top_up_day(day=target)}")
    click.echo(f"demo: {demo_hours_summary(day=target)}")


@demo_cli.command("hours")
def demo_hours():
    """Say the demo's day, its timezone and its visiting hours."""
    from .demo import demo_hours_summary

    click.echo(f"  {demo_hours_summary()}")


@cases_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cases_import(file: Path):
    """Import cases from a CSV file (columns in docs/import.md)."""
    from werkzeug.exceptions import HTTPException

    from .cases.importing import import_cases

    try:
        report = import_cases(raw=file.read_bytes(), actor_id=None)
    except HTTPException as exc:
        data = getattr(exc, "data", {}) or {}
        raise click.ClickException(f"{data.get('message') or exc.description} {data.get('errors') or ''}".strip()) from exc
    for row in report["rows"]:
        if row["status"] == "rejected":
            click.echo(f"row {row['row']}: rejected {row['errors']}", err=True)
    click.echo(
        "created {created}, updated {updated}, unchanged {unchanged}, rejected {rejected}, needs_geocode {needs_geocode}".format(**report)
    )


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "dispatcher", "owner", "admin"]), required=True)
@click.password_option()
def users_create(username: str, role: str, password: str):
    """Create a user (for a production set-up: the first admin)."""
    from .auth.passwords import password_problems
    from .auth.services import create_user

    problems = password_problems(password, username)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="password")
    create_user(username=username, password=password, role=role)
    db.session.commit()
    click.echo(f"created {role} {username}")


def register_cli(app: Flask) -> None:
    from .payments.cli import payments_cli
    from .retention.cli import retention_cli

    for group in (demo_cli, cases_cli, users_cli, payments_cli, retention_cli):
        app.cli.add_command(group)
