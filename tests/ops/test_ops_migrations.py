"""One migration head, so a plain `flask db upgrade` brings a fresh database to the models."""

import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from backend import create_app
from backend.config import TestConfig
from backend.extensions import db as _db


def _script(app) -> ScriptDirectory:
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_the_history_has_exactly_one_head(app):
    heads = _script(app).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision (flask db merge heads)"


@pytest.fixture
def fresh_database_url(app):
    """An empty database beside the suite's: a new SQLite file, or a new PostgreSQL database."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{app.config['TEST_TMPDIR']}/fresh-{uuid.uuid4().hex}.sqlite3"
        return
    name = f"doorstep_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.no_db  # no app context of the suite's app: the command must build its own
def test_plain_flask_db_upgrade_migrates_a_fresh_database_to_the_head(app, fresh_database_url):
    class Fresh(TestConfig):
        SQLALCHEMY_DATABASE_URI = fresh_database_url

    fresh = create_app(Fresh)
    # the command runs in the fresh app's context even when another app's is current (Flask's
    # CLI reuses a current context rather than make its own)
    with fresh.app_context():
        result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        try:
            with _db.engine.connect() as connection:
                current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
                tables = set(inspect(connection).get_table_names())
            heads = set(_script(fresh).get_heads())
        finally:
            _db.engine.dispose()
    assert current == heads
    assert {t.name for t in _db.metadata.sorted_tables} <= tables
